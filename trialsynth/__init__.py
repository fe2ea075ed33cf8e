"""trialsynth: synthetic versions of an archive of education RCTs, evaluated and catalogued.

The engine package is free of Prefect: cleaning, routing, synthesisers, metrics, ONS categories,
the release gate and the SQL catalogue can all be imported and tested without an orchestrator.
"""

from trialsynth import quiet  # noqa: F401 - the warning filters, set before any thread starts

__version__ = "0.1.0"
