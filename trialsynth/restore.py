"""Putting Appendix A's dropped columns back into a released file (labels only, never real rows)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from trialsynth.cleaning import value_key
from trialsynth.meta import TrialMeta


def restore_dropped(synthetic: pd.DataFrame, meta: TrialMeta) -> pd.DataFrame:
    """Put Appendix A's dropped columns back, in the original column order, so a released file
    has the real file's layout: empty columns empty, constants constant, descriptors derived from
    the synthetic column they describe, unit ids fresh (1..n, never real). Manifest drops stay out.
    """
    synthetic = synthetic.copy()
    n = len(synthetic)
    for dropped in meta.dropped:
        if dropped.restore == "missing":
            synthetic[dropped.name] = np.nan
        elif dropped.restore == "constant":
            synthetic[dropped.name] = [dropped.value] * n
        elif dropped.restore == "new_ids":
            ids = np.arange(1, n + 1)
            synthetic[dropped.name] = ids if dropped.value == "integer" else [f"S{i:07d}" for i in ids]
        elif dropped.restore == "describe" and dropped.source in synthetic:
            mapping = dropped.mapping or {}
            synthetic[dropped.name] = synthetic[dropped.source].map(lambda v, m=mapping: m.get(value_key(v)))
    order = [c for c in meta.original_columns if c in synthetic.columns]
    return synthetic[order] if order else synthetic
