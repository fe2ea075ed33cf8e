"""A trial's file measured against its real data: Table 3's metrics, the trial's own analysis
and the school disclosure measures, in one value the catalogue records."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from trialsynth.data.cleaning import Cleaned
from trialsynth.evaluation.holdout import Holdout
from trialsynth.evaluation.metrics import (
    ANALYSIS_METRIC_KEYS,
    ATTACK_METRIC_KEYS,
    EXTRA_METRIC_KEYS,
    METRIC_KEYS,
)
from trialsynth.evaluation.metrics.evaluate import assess
from trialsynth.evaluation.metrics.schools import school_disclosure
from trialsynth.evaluation.metrics.trial_analysis import trial_analysis


@dataclass(frozen=True)
class Evaluation:
    metrics: dict[str, float | None]
    analysis: dict[str, Any] = field(default_factory=dict)  # the trial's analysis, in detail

    def record(self) -> dict[str, Any]:
        return {"metrics": self.metrics, "analysis": self.analysis or None}


def evaluate_trial(
    cleaned: Cleaned,
    synthetic: pd.DataFrame,
    seed: int,
    held: Holdout,
    measured: dict[str, float | None],
    synth_units: np.ndarray | None = None,
) -> Evaluation:
    """Table 3's metrics on the file as released (after the gate's re-draws), beside what was
    ``measured`` already (the gate's counts, a method's own measures); utility is tested on the
    holdout's rows. ``synth_units``: each synthetic row's pupil, where the method drew pupils."""
    analysis = partial(trial_analysis, cleaned.data, synthetic, cleaned.meta, cleaned.covariates)
    metrics, detail = assess(
        cleaned.data, synthetic, cleaned.meta, seed, held.mask, analysis, cleaned.units, synth_units
    )
    schools = school_disclosure(cleaned.data, synthetic, cleaned.meta)
    return Evaluation({**metrics, **schools, **measured}, detail)


def evaluate_outputs_only(measured: dict[str, float | None]) -> Evaluation:
    """No microdata to compare with: only what the method measures against its outputs."""
    empty = dict.fromkeys((*METRIC_KEYS, *ANALYSIS_METRIC_KEYS, *ATTACK_METRIC_KEYS, *EXTRA_METRIC_KEYS))
    return Evaluation({**empty, **measured})
