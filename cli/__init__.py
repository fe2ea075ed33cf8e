"""The ``trialsynth`` command line: an edge like ``flows/`` (it may import Prefect; the engine may not)."""
