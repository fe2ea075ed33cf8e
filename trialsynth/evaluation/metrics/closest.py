"""The smallest Euclidean distance between a synthetic and a real row, exact, searched within the
rows' patterns first.

Most of a trial's dimensions take two values in both files: a category's one-hot columns (0 or
1/sqrt 2), a binary column and a missingness indicator (0 or 1 over their range). Two rows that
differ on any of them are at least ``gap`` apart (the smallest such value), so when the closest
pair among rows of the same pattern is nearer than ``gap``, no pair of different patterns can
beat it and the search is over (``within_patterns``). Otherwise every pair is compared
(``brute``). On the 67,200-row demo trial the patterns cut the pairs compared to a small share
of all (``bench/evaluation_scale.py``).
"""

from __future__ import annotations

import numpy as np
from sklearn.neighbors import NearestNeighbors

from trialsynth.evaluation.metrics.manhattan import Layout

NN_CELLS = 16_000_000  # single-precision distances held at once (``brute``)
# the patterns are searched alone only when their pairs are at most this share of all pairs
PATTERN_SHARE = 0.5
SMALL_BLOCK = 1_000_000  # pairs of one pattern compared in double precision at once


def closest(real_rows: np.ndarray, synth_rows: np.ndarray) -> float:
    """The smallest distance between a row of ``synth_rows`` and a row of ``real_rows``, exact."""
    found = within_patterns(real_rows, synth_rows)
    return found if found is not None else brute(real_rows, synth_rows)


def within_patterns(real_rows: np.ndarray, synth_rows: np.ndarray) -> float | None:
    """The smallest distance between rows of the same pattern of two-valued dimensions, when it
    is below the least distance between rows of different patterns (so the smallest of all); else
    None (no two-valued dimension, no shared pattern, or the patterns hold most pairs)."""
    if not len(real_rows) or not len(synth_rows):
        return None
    layout = Layout.of(real_rows, synth_rows)
    if not len(layout.paired):
        return None
    gap = float(layout.value.min())  # differing on a two-valued dimension costs at least this
    both = np.vstack([real_rows[:, layout.paired], synth_rows[:, layout.paired]])
    keys = np.unique(np.packbits(both > 0, axis=1), axis=0, return_inverse=True)[1].ravel()
    real_keys, synth_keys = keys[: len(real_rows)], keys[len(real_rows) :]
    real_count = np.bincount(real_keys, minlength=keys.max() + 1)
    synth_count = np.bincount(synth_keys, minlength=keys.max() + 1)
    pairs = real_count * synth_count
    if not pairs.any() or pairs.sum() > PATTERN_SHARE * len(real_rows) * len(synth_rows):
        return None
    real_at = np.split(np.argsort(real_keys, kind="stable"), np.cumsum(real_count)[:-1])
    synth_at = np.split(np.argsort(synth_keys, kind="stable"), np.cumsum(synth_count)[:-1])
    best = np.inf
    for key in np.flatnonzero(pairs):
        real, synth = real_rows[real_at[key]], synth_rows[synth_at[key]]
        best = min(best, _small(real, synth) if pairs[key] <= SMALL_BLOCK else brute(real, synth))
    return best if best < gap else None


def _small(real_rows: np.ndarray, synth_rows: np.ndarray) -> float:
    """``brute`` for a few rows: every pair in double precision, then the synthetic rows that
    could hold the minimum measured directly against every real row."""
    real_sq, synth_sq = (real_rows**2).sum(axis=1), (synth_rows**2).sum(axis=1)
    nearest = (synth_sq[:, None] + real_sq[None, :] - 2.0 * synth_rows @ real_rows.T).min(axis=1)
    scale = max(float(real_sq.max()), float(synth_sq.max()), 1.0)
    error = 4 * (real_rows.shape[1] + 3) * float(np.finfo(float).eps) * scale
    candidates = synth_rows[nearest <= nearest.min() + 2 * error]
    return float(min(np.linalg.norm(real_rows - row, axis=1).min() for row in candidates))


def brute(real_rows: np.ndarray, synth_rows: np.ndarray) -> float:
    """The smallest distance over every pair, exact: each pair is first compared in single
    precision (|y|^2 - 2xy by one matrix product, half the work of double precision), then every
    synthetic row that could hold the minimum (its squared distance within twice the
    single-precision error bound of the smallest) is measured again in double precision against
    every real row, and the closest pair directly."""
    real_sq, synth_sq = (real_rows**2).sum(axis=1), (synth_rows**2).sum(axis=1)
    real32 = np.hstack([-2.0 * real_rows, real_sq[:, None]]).astype(np.float32)
    synth32 = np.hstack([synth_rows, np.ones((len(synth_rows), 1))]).astype(np.float32)
    approx = np.empty(len(synth_rows))
    step = max(1, NN_CELLS // len(real_rows))
    for start in range(0, len(synth_rows), step):
        approx[start : start + step] = (synth32[start : start + step] @ real32.T).min(axis=1)
    approx += synth_sq
    # each product sums dims + 1 terms of magnitude at most the largest squared norms: a bound on
    # the rounding of the product, the inputs' conversion and the sum with |x|^2
    scale = max(float(real_sq.max(initial=0.0)), float(synth_sq.max(initial=0.0)), 1.0)
    error = 4 * (real_rows.shape[1] + 3) * float(np.finfo(np.float32).eps) * scale
    candidates = synth_rows[approx <= approx.min() + 2 * error]
    search = NearestNeighbors(n_neighbors=1, algorithm="brute", metric="euclidean").fit(real_rows)
    distances, index = search.kneighbors(candidates)
    row = int(np.argmin(distances[:, 0]))
    return float(np.linalg.norm(candidates[row] - real_rows[index[row, 0]]))
