"""Schools in a trial file: the key a school is grouped under and the intraclass correlation of
an outcome by school, read the same way from real data (for release and evaluation) and from a
synthetic file (for the sampler that fits a released ICC)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def school_key(value: object) -> str:
    """A school's group key: its label as text, a missing school a group of its own."""
    return "\0missing" if pd.isna(value) else str(value)


def icc(frame: pd.DataFrame, outcome: str, cluster: str) -> float | None:
    """ICC(1) of ``outcome`` by ``cluster``: one-way ANOVA, Donner's n0 for unequal sizes. The
    mean squares from the groups' sums directly (an OLS on one dummy per school built a dense
    rows x schools matrix: minutes at 67,200 rows)."""
    data = pd.DataFrame({"y": pd.to_numeric(frame[outcome], errors="coerce"), "g": frame[cluster]}).dropna()
    data["g"] = data["g"].map(school_key)
    return icc_of(data["y"].to_numpy(dtype=float), pd.factorize(data["g"])[0])


def icc_of(y: np.ndarray, groups: np.ndarray) -> float | None:
    """``icc`` on arrays: ``y`` without missing values, ``groups`` integer codes from 0."""
    sizes = np.bincount(groups).astype(float)
    present = sizes > 0
    k = int(present.sum())
    n = float(len(y))
    if k < 2 or n <= k or np.std(y) == 0:
        return None
    sums = np.bincount(groups, weights=y, minlength=len(sizes))
    means = np.divide(sums, sizes, out=np.zeros_like(sums), where=present)
    grand = float(y.mean())
    between = float((sizes[present] * (means[present] - grand) ** 2).sum()) / (k - 1)
    within = float(((y - means[groups]) ** 2).sum()) / (n - k)
    n0 = (n - float((sizes[present] ** 2).sum()) / n) / (k - 1)
    value = (between - within) / (between + (n0 - 1) * within)
    return float(value) if np.isfinite(value) else None
