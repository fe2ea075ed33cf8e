"""School (cluster) identifiers: pseudonymised before synthesis, never released as real ids.

Real school ids are replaced by opaque labels before the synthesiser sees them, schools with fewer
than ``min_size`` pupils (10, the minimum cell of every released count) are pooled into one label
(a small school's id is itself disclosive and synthpop-py guards against rare categories), and
synthetic labels are released as ``school-NNN`` (or, where the real ids are numbers, as the
numbers 1..K) in a random order fixed when the model is fitted (``label_mapping``), so no real id
and no real ordering appears in the output and every draw from one model - a file and the rows
the release gate re-draws into it - names each school alike.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

POOLED = "pooled-small-schools"


def pseudonymise(ids: pd.Series, rng: np.random.Generator, min_size: int = 10) -> pd.Series:
    counts = ids.value_counts(dropna=False)
    small = set(counts[counts < min_size].index)
    labels = [v for v in counts.index if v not in small]
    order = rng.permutation(len(labels))
    mapping = {v: f"c{order[i]:05d}" for i, v in enumerate(labels)}
    return ids.map(lambda v: mapping.get(v, POOLED)).astype("object")


def label_mapping(pseudonyms: pd.Series, rng: np.random.Generator, *, numeric: bool) -> dict:
    """Release label of every pseudonymised school, in a random order: ``school-NNN``, or the
    integers 1..K when the real ids are numeric (the released column keeps its type)."""
    distinct = sorted(pseudonyms.dropna().unique())
    order = rng.permutation(len(distinct))
    width = max(3, len(str(len(distinct))))
    if numeric:
        return {v: int(order[i] + 1) for i, v in enumerate(distinct)}
    return {v: f"school-{order[i] + 1:0{width}d}" for i, v in enumerate(distinct)}
