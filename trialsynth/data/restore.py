"""Putting Appendix A's dropped columns back into a released file (labels only, never real rows)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from trialsynth.data.cleaning import value_key
from trialsynth.meta import DroppedColumn, TrialMeta


def restore_dropped(
    synthetic: pd.DataFrame,
    meta: TrialMeta,
    rng: np.random.Generator | None = None,
    units: np.ndarray | None = None,
) -> pd.DataFrame:
    """Put Appendix A's dropped columns back, in the original column order, so a released file
    has the real file's layout: empty columns empty, constants constant, descriptors derived from
    the synthetic column they describe, unit ids fresh (1..n, never real), a long-format file's
    pupil ids fresh and grouping its rows (``assign_units``; ``units``: each row's pupil as the
    method drew them, where it did). Manifest drops stay out.
    """
    synthetic = synthetic.copy()
    for dropped in meta.dropped:
        if dropped.restore == "units":
            rng = rng or np.random.default_rng(0)
            if units is not None and len(units) == len(synthetic):
                synthetic = drawn_units(synthetic, dropped, units, rng)
            else:
                synthetic = assign_units(synthetic, dropped, meta, rng)
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


def assign_units(
    synthetic: pd.DataFrame, dropped: DroppedColumn, meta: TrialMeta, rng: np.random.Generator
) -> pd.DataFrame:
    """Fresh pupil ids for a long-format file: the synthetic rows, ordered by arm and school, are
    cut into pupils with as many rows each as the real file's pupils have (``dropped.mapping``:
    rows per pupil -> number of pupils), the sizes in random order (so attrition falls on every
    arm alike); the rows of a pupil are contiguous.

    Rows are synthesised independently: a pupil's rows share the arm and school where the counts
    allow, but the correlation of one pupil's measurements across rows is not kept."""
    sizes = [rows for rows, units in sorted((dropped.mapping or {}).items()) for _ in range(units)]
    sizes = [sizes[i] for i in rng.permutation(len(sizes))]
    n = len(synthetic)
    if sum(sizes) != n:  # another row count than the real file's: scale the sizes' shares
        sizes = _scaled(sizes, n)
    by = [c for c in (meta.treatment, meta.cluster) if c and c in synthetic.columns]
    ordered = synthetic.sort_values(by, kind="stable", na_position="last") if by else synthetic
    ids = np.repeat(np.arange(1, len(sizes) + 1), sizes)
    ordered = ordered.reset_index(drop=True)
    ordered[dropped.name] = ids if dropped.value == "integer" else [f"P{i:07d}" for i in ids]
    return ordered


def drawn_units(
    synthetic: pd.DataFrame, dropped: DroppedColumn, units: np.ndarray, rng: np.random.Generator
) -> pd.DataFrame:
    """Fresh pupil ids for a long-format file whose rows the method drew pupil by pupil
    (``units``: each row's pupil): the pupils numbered 1..k in a random order."""
    _, codes = np.unique(units, return_inverse=True)
    ids = rng.permutation(int(codes.max()) + 1 if len(codes) else 0)[codes] + 1
    out = synthetic.reset_index(drop=True).copy()
    out[dropped.name] = ids if dropped.value == "integer" else [f"P{i:07d}" for i in ids]
    return out


def _scaled(sizes: list[int], n: int) -> list[int]:
    out: list[int] = []
    total, i = 0, 0
    while total < n:
        size = min(sizes[i % len(sizes)] if sizes else 1, n - total)
        out.append(size)
        total, i = total + size, i + 1
    return out
