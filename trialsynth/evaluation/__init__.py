"""A file measured against its real data: the metrics (one module per family), the holdout, the
trial's own analysis and the ONS category."""
