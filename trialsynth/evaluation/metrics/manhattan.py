"""Exact Manhattan distances between rows in the attacks' space (``attacks.Space``), with the
two-valued dimensions by matrix product.

Most of a trial's dimensions take two values: each category's one-hot column (0 or 1/2), a
binary column and a missingness indicator (0 or 1 over their range). On such a dimension
|x - y| = c (u + v - 2 u v), u and v its values over c, so the sum over all of them is two row
sums and one matrix product, exact (the values are small multiples of 1/2). Only the
measurements are summed term by term (``scipy``'s ``cdist``). On the 67,200-row demo trial 45 of
73 dimensions are two-valued.

Distances are rounded to ``DECIMALS`` places, so that two sums of the same terms in another
order are equal and a tie goes to the first row, as a brute-force search's does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg.blas import dgemm
from scipy.spatial.distance import cdist

DECIMALS = 9  # distances compared at this precision (each dimension contributes at most 1)
BLOCK_CELLS = 4_000_000  # query-by-point distances held at once
# up to this many nearest points are found by repeated minima (each a pass over a block, a tie
# to the earlier point), beyond it by a partition and a sort
FEW = 8


@dataclass(frozen=True)
class Layout:
    """Which dimensions are measurements and, for the two-valued ones, their non-zero value."""

    measured: np.ndarray  # indices of the dimensions summed term by term
    paired: np.ndarray  # indices of the two-valued dimensions (0 or ``value``)
    value: np.ndarray  # each two-valued dimension's non-zero value

    @classmethod
    def of(cls, *sets: np.ndarray) -> Layout:
        """The layout every set fits: a dimension is two-valued when its values in all the sets
        are 0 and at most one other value (not missing)."""
        both = np.vstack(sets)
        top = both.max(axis=0, initial=0.0) if len(both) else np.zeros(both.shape[1])
        paired = np.isfinite(both).all(axis=0) & (top > 0) & ((both == 0) | (both == top)).all(axis=0)
        return cls(np.flatnonzero(~paired), np.flatnonzero(paired), top[paired])


@dataclass(frozen=True)
class Points:
    """Rows split by a ``Layout``: measurements, two-valued dims as 0/1 (and times their value),
    the latter's sums."""

    measured: np.ndarray
    bits: np.ndarray
    scaled: np.ndarray  # the two-valued dims as they are (bits times their value)
    weighted: np.ndarray  # each row's sum over its two-valued dimensions (in distance units)

    @classmethod
    def of(cls, rows: np.ndarray, layout: Layout) -> Points:
        bits = rows[:, layout.paired] / layout.value if len(layout.paired) else np.zeros((len(rows), 0))
        scaled = bits * layout.value
        return cls(np.ascontiguousarray(rows[:, layout.measured]), bits, scaled, scaled.sum(axis=1))

    def __len__(self) -> int:
        return len(self.measured)

    def rows(self, start: int, stop: int) -> Points:
        return Points(*(part[start:stop] for part in (self.measured, self.bits, self.scaled, self.weighted)))


def distances(queries: Points, points: Points, layout: Layout) -> np.ndarray:
    """Every query's Manhattan distance to every point, rounded to ``DECIMALS`` places. The
    two-valued dims' sums are added and their product subtracted in place (BLAS accumulates it
    into the distances' transpose), no query-by-point temporary beside the result."""
    out = (
        cdist(queries.measured, points.measured, "cityblock")
        if queries.measured.shape[1]
        else np.zeros((len(queries), len(points)))
    )
    if len(layout.paired) and len(queries) and len(points):
        out += queries.weighted[:, None]
        out += points.weighted[None, :]
        # out.T (points x queries, Fortran order) += -2 bits @ scaled.T
        summed = dgemm(-2.0, points.bits.T, queries.scaled.T, 1.0, out.T, trans_a=1, overwrite_c=1)
        if not np.shares_memory(summed, out):  # BLAS worked on a copy (another layout or type)
            out[...] = summed.T
    return np.round(out, DECIMALS, out=out)


def nearest(points: np.ndarray, queries: np.ndarray, k: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Distances to and indices of each query's ``k`` nearest points (closest first; a tie goes
    to the earlier point), exact."""
    layout = Layout.of(points, queries)
    pts, qs = Points.of(points, layout), Points.of(queries, layout)
    k = min(k, len(points))
    out_d = np.empty((len(queries), k))
    out_i = np.empty((len(queries), k), dtype=int)
    step = max(1, BLOCK_CELLS // max(len(points), 1))
    for start in range(0, len(queries), step):
        block = distances(qs.rows(start, start + step), pts, layout)
        if k <= FEW:
            at, found = _fewest(block, k)
        else:
            near = np.argpartition(block, k - 1, axis=1)[:, :k]
            # closest first, a tie to the earlier point (the partition's order is arbitrary)
            kth = np.take_along_axis(block, near, axis=1).max(axis=1, keepdims=True)
            at = np.array([_first(row, bound, k) for row, bound in zip(block, kth[:, 0], strict=True)])
            found = np.take_along_axis(block, at, axis=1)
        out_i[start : start + step] = at
        out_d[start : start + step] = found
    return out_d, out_i


def _fewest(block: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Each row's ``k`` smallest and where they are, by repeated minima (``argmin`` takes the
    earlier of a tie): by distance then position, as ``_first`` orders them. Overwrites
    ``block``."""
    rows = np.arange(len(block))
    at = np.empty((len(block), k), dtype=int)
    found = np.empty((len(block), k))
    for j in range(k):
        at[:, j] = block.argmin(axis=1)
        found[:, j] = block[rows, at[:, j]]
        block[rows, at[:, j]] = np.inf
    return at, found


def _first(row: np.ndarray, bound: float, k: int) -> np.ndarray:
    """The ``k`` smallest of ``row`` at most ``bound``, by distance then position."""
    within = np.flatnonzero(row <= bound)
    return within[np.lexsort((within, row[within]))][:k]
