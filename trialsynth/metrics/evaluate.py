"""Run every metric family on a trial and its synthetic data."""

from __future__ import annotations

import logging
import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd

from trialsynth.meta import TrialMeta
from trialsynth.metrics import METRICS
from trialsynth.metrics.prepare import evaluation_view

log = logging.getLogger(__name__)
# The families are independent; scikit-learn and numpy release the GIL for much of their work.
EVALUATION_THREADS = 2


def evaluate(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    meta: TrialMeta,
    seed: int,
    holdout: np.ndarray | None = None,
) -> dict[str, float | None]:
    """All Table 3 metrics, keyed by their catalogue names; an undefined value (e.g. a
    correlation ratio when a column is constant) is None, never NaN (not valid JSON).
    ``holdout`` marks the real rows the synthesiser never saw (``trialsynth.holdout``)."""
    real_view, synth_view, context = evaluation_view(real, synthetic, meta, seed, holdout)
    with ThreadPoolExecutor(max_workers=EVALUATION_THREADS, thread_name_prefix="metrics") as pool:
        futures = [pool.submit(family, real_view, synth_view, context) for family in METRICS.values()]
        results: dict[str, float] = {}
        for future in futures:
            results.update(future.result())
    return {key: value if math.isfinite(value) else None for key, value in results.items()}


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
