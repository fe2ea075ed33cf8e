"""Reading trial data for the registry (validation reads headers; the engine reads the rows)."""

from trialsynth.data.loading import load_trial_data, read_columns

__all__ = ["load_trial_data", "read_columns"]
