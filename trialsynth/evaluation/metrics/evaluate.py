"""Run every metric family on a trial and its synthetic data."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from trialsynth.evaluation.metrics import METRICS
from trialsynth.evaluation.metrics.prepare import evaluation_view
from trialsynth.meta import TrialMeta

log = logging.getLogger(__name__)
# The families are independent; scikit-learn and numpy release the GIL for much of their work.
EVALUATION_THREADS = 2
# Longest first (measured on a 9,900 x 22 trial: propensity 3.2 s, utility 2.5 s, nearest
# neighbours 1.5 s, the trial's analysis 0.8 s, the rest under 0.7 s), so that two threads finish
# together.
LONGEST_FIRST = (
    "attacks",
    "dcr",
    "nearest_neighbour",
    "propensity",
    "classification",
    "analysis",
    "overlap",
)


def evaluate(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    meta: TrialMeta,
    seed: int,
    holdout: np.ndarray | None = None,
) -> dict[str, float | None]:
    """All Table 3 metrics, keyed by their catalogue names; an undefined value (e.g. a
    correlation ratio when a column is constant) is None, never NaN (not valid JSON).
    ``holdout`` marks the real rows the synthesiser never saw (``trialsynth.evaluation.holdout``)."""
    metrics, _ = assess(real, synthetic, meta, seed, holdout, analysis=None)
    return metrics


def assess(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    meta: TrialMeta,
    seed: int,
    holdout: np.ndarray | None = None,
    analysis: Callable[[], tuple[dict[str, float | None], dict[str, Any]]] | None = None,
    units: np.ndarray | None = None,
    synth_units: np.ndarray | None = None,
) -> tuple[dict[str, float | None], dict[str, Any]]:
    """``evaluate``'s metrics and, when ``analysis`` is given (the trial's own analysis, a
    call without arguments), its metrics too and its detail; one pool runs them all. ``units``,
    ``synth_units``: a long-format file's pupil of each real and each synthetic row."""
    real_view, synth_view, context = evaluation_view(real, synthetic, meta, seed, holdout, units, synth_units)
    tasks: dict[str, Callable[[], Any]] = {
        name: partial(family, real_view, synth_view, context) for name, family in METRICS.items()
    }
    if analysis is not None:
        tasks["analysis"] = analysis
    order = sorted(tasks, key=lambda name: LONGEST_FIRST.index(name) if name in LONGEST_FIRST else 99)
    with ThreadPoolExecutor(max_workers=EVALUATION_THREADS, thread_name_prefix="metrics") as pool:
        futures = {name: pool.submit(tasks[name]) for name in order}
        results: dict[str, float] = {}
        detail: dict[str, Any] = {}
        for name, future in futures.items():
            if name == "analysis":
                effects, detail = future.result()
                results.update(effects)
            else:
                results.update(future.result())
    return {
        key: value if value is None or math.isfinite(value) else None for key, value in results.items()
    }, detail


def format_preserved(real: pd.DataFrame, synthetic: pd.DataFrame, labels: tuple[str, ...] = ()) -> bool:
    """Same columns in the same order, and numeric columns numeric (Table 4's 'format'); the
    ``labels`` columns (school labels, new by design as ``school-NNN``) are checked by name only."""
    if list(real.columns) != list(synthetic.columns):
        return False
    return all(
        pd.api.types.is_numeric_dtype(real[c]) == pd.api.types.is_numeric_dtype(synthetic[c])
        for c in real.columns
        if c not in labels
    )
