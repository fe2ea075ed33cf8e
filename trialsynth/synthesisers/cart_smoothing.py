"""Smoothed donors (R synthpop's ``smoothing = "density"``): a drawn value of a continuous column
moves by Gaussian noise of the column's kernel bandwidth (Silverman's rule), reflected into the
column's real range, so a leaf's donors are not copied exactly; values many real rows share
(point masses such as zero spending) are kept as drawn."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

SMOOTH_MIN_LEVELS = 20  # continuous columns with fewer distinct values (counts, scales) keep donors
SMOOTH_SHARED_SHARE = 0.01  # a value at least this share of real rows (and 10) hold is drawn as it is


@dataclass(frozen=True)
class Smoothing:
    """How one continuous column's drawn values are smoothed: the kernel bandwidth, the real
    range they stay within, and the values shared by many rows (point masses such as zero
    spending), which are kept: copying them discloses no one, and smoothing would erase them."""

    bandwidth: float
    low: float
    high: float
    shared: np.ndarray


def bandwidths(
    data: pd.DataFrame, columns: list[str], min_levels: int = SMOOTH_MIN_LEVELS
) -> dict[str, Smoothing]:
    """The ``Smoothing`` of each of ``columns`` worth smoothing (``min_levels`` distinct values or
    more): Silverman's rule of thumb, 0.9 min(sd, IQR / 1.34) n^(-1/5), over the values not
    shared by ``SMOOTH_SHARED_SHARE`` of rows."""
    out = {}
    for name in columns:
        values = data[name].to_numpy(dtype=float, na_value=np.nan)
        values = values[~np.isnan(values)]
        levels, counts = np.unique(values, return_counts=True)
        if len(levels) < min_levels:
            continue
        shared = levels[counts >= max(SMOOTH_SHARED_SHARE * len(values), 10)]
        spread_of = values[~np.isin(values, shared)]
        if len(spread_of) < 2:
            continue
        q1, q3 = np.quantile(spread_of, [0.25, 0.75])
        sd = float(spread_of.std(ddof=1))
        spread = min(sd, float(q3 - q1) / 1.34) or sd
        bandwidth = 0.9 * spread * len(spread_of) ** -0.2
        out[name] = Smoothing(bandwidth, float(values.min()), float(values.max()), shared)
    return out


def reflected(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """Values pushed past the real range folded back inside it (a clip would pile them up on the
    real extremes, and reproduce an extreme real value exactly)."""
    values = np.where(values < low, 2 * low - values, values)
    values = np.where(values > high, 2 * high - values, values)
    return np.clip(values, low, high)


def smooth(
    synthetic: pd.DataFrame, smoothing: dict[str, Smoothing], rng: np.random.Generator
) -> pd.DataFrame:
    """``synthetic`` with each smoothed column's values moved (``Smoothing``), in place."""
    for name, how in smoothing.items():
        values = pd.to_numeric(synthetic[name], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        noise = rng.normal(0.0, how.bandwidth, len(values))
        keep = np.isnan(values) | np.isin(values, how.shared)
        synthetic[name] = np.where(keep, values, reflected(values + noise, how.low, how.high))
    return synthetic
