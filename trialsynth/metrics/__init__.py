"""Table 3 of the study: every metric family, keyed by the catalogue names it produces."""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable

import pandas as pd

from trialsynth.metrics import fidelity, privacy, utility
from trialsynth.metrics.prepare import EvaluationContext, evaluation_view

MetricFamily = Callable[[pd.DataFrame, pd.DataFrame, EvaluationContext], dict[str, float]]


def _quiet(family: MetricFamily) -> MetricFamily:
    """synthgauge warns for every numeric column it passes through its category encoder."""

    @functools.wraps(family)
    def wrapper(real: pd.DataFrame, synth: pd.DataFrame, ctx: EvaluationContext) -> dict[str, float]:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=UserWarning, module="synthgauge")
            return family(real, synth, ctx)

    return wrapper


_FAMILIES: dict[str, MetricFamily] = {
    "correlation": fidelity.correlation,
    "propensity": fidelity.propensity,
    "density": fidelity.density,
    "classification": utility.classification,
    "nearest_neighbour": privacy.nearest_neighbour,
    "tcap": privacy.tcap,
    "overlap": privacy.overlap,
}
METRICS: dict[str, MetricFamily] = {name: _quiet(family) for name, family in _FAMILIES.items()}

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

__all__ = ["METRICS", "METRIC_KEYS", "EvaluationContext", "evaluation_view"]
