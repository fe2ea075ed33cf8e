"""School (cluster) identifiers: pseudonymised before synthesis, never released as real ids.

Real school ids are replaced by opaque labels before the synthesiser sees them, schools with fewer
than ``min_size`` pupils are pooled into one label (a small school's id is itself disclosive and
synthpop-py guards against rare categories), and synthetic labels are released as ``school-NNN``
numbered in a random order, so no real id and no real ordering appears in the output.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

POOLED = "pooled-small-schools"


def pseudonymise(ids: pd.Series, rng: np.random.Generator, min_size: int = 5) -> pd.Series:
    counts = ids.value_counts(dropna=False)
    small = set(counts[counts < min_size].index)
    labels = [v for v in counts.index if v not in small]
    order = rng.permutation(len(labels))
    mapping = {v: f"c{order[i]:05d}" for i, v in enumerate(labels)}
    return ids.map(lambda v: mapping.get(v, POOLED)).astype("object")


def release_labels(labels: pd.Series, rng: np.random.Generator) -> pd.Series:
    distinct = sorted(labels.dropna().unique())
    order = rng.permutation(len(distinct))
    width = max(3, len(str(len(distinct))))
    mapping = {v: f"school-{order[i] + 1:0{width}d}" for i, v in enumerate(distinct)}
    return labels.map(mapping).astype("object")
