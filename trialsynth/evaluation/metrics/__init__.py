"""Table 3 of the study: every metric family, keyed by the catalogue names it produces."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from trialsynth.evaluation.metrics import attacks, fidelity, privacy, utility
from trialsynth.evaluation.metrics.attacks import ATTACK_CI_KEYS, ATTACK_KEYS
from trialsynth.evaluation.metrics.prepare import EvaluationContext, evaluation_view
from trialsynth.evaluation.metrics.schools import SCHOOL_KEYS
from trialsynth.evaluation.metrics.trial_analysis import EFFECT_KEYS

MetricFamily = Callable[[pd.DataFrame, pd.DataFrame, EvaluationContext], dict[str, float]]


METRICS: dict[str, MetricFamily] = {
    "correlation": fidelity.correlation,
    "propensity": fidelity.propensity,
    "density": fidelity.density,
    "classification": utility.classification,
    "nearest_neighbour": privacy.nearest_neighbour,
    "tcap": privacy.tcap,
    "overlap": privacy.overlap,
    "attacks": attacks.attacks,
    "dcr": attacks.dcr,
}

METRIC_KEYS = (
    "corr_msd",
    "corr_ratio_msd",
    "pmse_ratio",
    "feature_density_mad",
    "precision_diff",
    "recall_diff",
    "f1_diff",
    "min_nn_distance",
    "min_nn_distance_outliers",
    "tcap",
    "sample_overlap",
)

# Beside Table 3: where a definition changed, the study's version (``*_study``), the pairs the
# study's correlation leaves out, TCAP's baseline and the excess over it, the sample overlap a fresh
# draw gives and the exact matches beyond it, the standardised pMSE and
# a trial of schools' pMSE ratio at each level (``fidelity.two_levels``).
EXTRA_METRIC_KEYS = (
    "feature_density_mad_study",
    "corr_msd_other",
    "pmse_standardised",
    "pmse_ratio_pupils",
    "pmse_ratio_schools",
    "f1_diff_study",
    "min_nn_distance_study",
    "tcap_baseline",
    "tcap_excess",
    "sample_overlap_study",
    "sample_overlap_baseline",
    "exact_match_excess",
)
# Stored beside Table 3 for syntheses from released outputs (``ea``); null for other methods.
OUTPUT_METRIC_KEYS = ("coef_mae",)
# The release gate's counts (``release_gate.Gate``): synthetic rows equal to a real record unique on the
# key variables (after re-drawing), and equal to any real record (before re-drawing).
GATE_METRIC_KEYS = ("replicated_uniques", "exact_matches")
# Attacks on the file against real rows it never saw (``attacks.py``; SPEC names), with the bounds of
# each risk's 95% interval, and whether a synthetic school points at one real school (``schools.py``).
ATTACK_METRIC_KEYS = ATTACK_KEYS + ATTACK_CI_KEYS + SCHOOL_KEYS
# The trial's own analysis (``trial_analysis.py``): treatment-effect replication and the ICC.
ANALYSIS_METRIC_KEYS = EFFECT_KEYS
RECORD_METRIC_KEYS = (
    METRIC_KEYS
    + ANALYSIS_METRIC_KEYS
    + ATTACK_METRIC_KEYS
    + EXTRA_METRIC_KEYS
    + OUTPUT_METRIC_KEYS
    + GATE_METRIC_KEYS
)

__all__ = [
    "METRICS",
    "METRIC_KEYS",
    "ANALYSIS_METRIC_KEYS",
    "ATTACK_METRIC_KEYS",
    "EXTRA_METRIC_KEYS",
    "OUTPUT_METRIC_KEYS",
    "RECORD_METRIC_KEYS",
    "GATE_METRIC_KEYS",
    "EvaluationContext",
    "evaluation_view",
]
