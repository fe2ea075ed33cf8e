"""Every default of a run, in one place: the manifest schema, the plans and the methods read them
from here."""

from __future__ import annotations

ARCHIVE_SEED = 20240601  # the archive seed when a manifest names none
SMALL_THRESHOLD = 5_000  # cleaned rows below this: ea (or none)
LARGE_THRESHOLD = 50_000  # cleaned rows at or above this: the large-trial DP method
SMALL_POLICY = "ea"  # ea | none
EPSILON = 1.0  # the study's choice (typical guidance 0.01-1.1) when a DP trial is neither set nor tuned
EPSILON_CAP = 1.0  # policy: no single DP release above this
EPSILON_LIFETIME = 10.0  # per trial, summed over distinct releases
EA_GENERATIONS = 2_000  # the EA paper's generation budget
MST_TUNING_TRIALS = 6  # optuna trials on a public surrogate; 0: EPSILON, untuned
HOLDOUT_SHARE = 0.2  # real rows kept from the synthesiser, to test on rows it never saw; 0: none
