"""The singling-out attack (``attacks``): predicates written from the synthetic file, tried on the
real rows, and the exact count of rows each predicate holds for.

A predicate names ``SINGLING_OUT_COLUMNS`` columns, each with a value and a half-width (0: equal).
The rows it holds for are counted through a sorted index of every column (``Index``): the
predicate's narrowest column gives the candidate rows by two binary searches, and the candidates
alone are checked on every column of the predicate by the same test a full scan applies
(|x - value| <= width). The count is exact; only whether a predicate holds for none, one or
more rows is ever needed, so counting stops at ``MANY``. A full scan of 67,200 rows for 2,000
predicates of 4 columns read 537 million values; the candidates of a measurement's 2% window
are about 1,300 rows.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from trialsynth.evaluation.metrics.prepare import EvaluationContext
from trialsynth.evaluation.metrics.rates import Rate

SINGLING_OUT_QUERIES = 1000  # predicates written from the synthetic file (anonymeter: 500)
SINGLING_OUT_COLUMNS = 4  # columns per predicate (anonymeter's multivariate default is 3)
WINDOW = 0.01  # a measurement in a predicate: within 1% of its range of the synthetic row's value
CODED_LEVELS = 20  # a numeric column with at most this many values is a code: compared for equality
SINGLING_OUT_TRIES = 12  # batches of twice as many candidates before giving up (few unique rows)
MANY = 2  # a predicate holding for this many rows singles out none: counting stops there
STRIDE_FROM = 20  # a range of more than ten times this many candidates is tried on a tenth first

# A predicate: column indices, the values, and per column the half-width of its window (0: equal).
Query = tuple[np.ndarray, np.ndarray, np.ndarray]


def singling_out(
    training: pd.DataFrame,
    control: pd.DataFrame,
    synth: pd.DataFrame,
    ctx: EvaluationContext,
    rng: np.random.Generator,
) -> tuple[Rate, float]:
    """Predicates of ``SINGLING_OUT_COLUMNS`` columns written from random synthetic rows (a
    category or a coded number: equal to the row's value; a measurement: within ``WINDOW`` of
    its range of the row's value - "a pupil with a KS2 score of about 31 and FSM and ...") and
    kept when exactly one synthetic row satisfies them (anonymeter's multivariate attack writes
    one-sided conditions, "at least 31", which single out only extreme rows). Each is tried on
    every real row, training and held-out together; a predicate that singles out one real pupil
    is a success when that pupil is a training one. Returns the rate and the rate expected of a
    file that knows nothing of its training rows.

    The control is the holdout itself: it is a uniform random draw, so for a file that knows
    nothing of its training rows the pupil a predicate singles out is a training pupil with
    probability n_training / n_real (the returned control rate), whatever the set sizes; a file
    that leaks its training rows singles them out more often. (Running the predicates on the
    training and the control sets separately would need a model of how singling out depends on
    a set's size, which the training set here is several times the control's.)"""
    codes = Codes(pd.concat([training, control, synth], ignore_index=True), ctx)
    n_t, n_c = len(training), len(control)
    real_x, synth_x = codes.values[: n_t + n_c], codes.values[n_t + n_c :]
    queries = _queries(Index(synth_x), codes.widths, rng)
    singled = Index(real_x).single(queries)  # the row a predicate singles out, else -1
    hits = singled[singled >= 0]
    return Rate(int((hits < n_t).sum()), len(hits)), n_t / (n_t + n_c)


class Codes:
    """Every column as numbers, with the half-width of a predicate's window on it: a category
    (as its code) and a number with few values (a code, a missingness indicator) are matched
    exactly; a measurement within ``WINDOW`` of its range either side."""

    def __init__(self, frame: pd.DataFrame, ctx: EvaluationContext) -> None:
        parts, widths = [], []
        for name in frame.columns:
            if name in ctx.categorical:
                parts.append(pd.factorize(frame[name].astype(str))[0].astype(float))
                widths.append(0.0)
            else:
                values = frame[name].to_numpy(dtype=float)
                parts.append(values)
                coded = frame[name].nunique() <= CODED_LEVELS
                widths.append(0.0 if coded else WINDOW * float(np.nanmax(values) - np.nanmin(values)))
        self.values = np.column_stack(parts)
        self.widths = np.array(widths)


class Index:
    """The rows of ``x`` sorted on each column, to count the rows a predicate holds for."""

    def __init__(self, x: np.ndarray) -> None:
        self.x = x
        self.order = np.argsort(x, axis=0, kind="stable")  # a missing value sorts last
        self.sorted = np.take_along_axis(x, self.order, axis=0)
        self.columns = [np.ascontiguousarray(x[:, j]) for j in range(x.shape[1])]

    def _candidates(self, queries: list[Query]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each predicate's narrowest column and the range of sorted rows it admits there
        (widened by a rounding margin: the candidates are checked exactly afterwards). A
        predicate on a missing value holds for no row (a missing value is no value)."""
        cols = np.stack([q[0] for q in queries])
        values = np.stack([q[1] for q in queries])
        widths = np.stack([q[2] for q in queries])
        margin = 1e-9 * (np.abs(values) + widths + 1.0)
        low = np.empty(cols.shape, dtype=int)
        high = np.empty(cols.shape, dtype=int)
        for column in np.unique(cols):
            at = cols == column
            present = self.sorted[:, column]
            present = present[: np.searchsorted(present, np.inf, side="right")]  # NaN last
            low[at] = np.searchsorted(present, values[at] - widths[at] - margin[at], side="left")
            high[at] = np.searchsorted(present, values[at] + widths[at] + margin[at], side="right")
        high[np.isnan(values)] = low[np.isnan(values)]
        narrow = np.argmin(high - low, axis=1)
        rows = np.arange(len(queries))
        return cols[rows, narrow], low[rows, narrow], high[rows, narrow]

    def matches(self, query: Query, column: int, low: int, high: int, most: int | None = None) -> np.ndarray:
        """The rows of ``x`` the predicate holds for, among those whose value on ``column`` lies
        in the sorted range [low, high); with ``most``, a tenth of a long range is checked first,
        and ``most`` rows found there end the count (the predicate holds for at least as many)."""
        rows = self.order[low:high, column]
        if most is not None and len(rows) > 10 * STRIDE_FROM:
            found = self._held(query, rows[::10])
            if len(found) >= most:
                return found
        return self._held(query, rows)

    def _held(self, query: Query, rows: np.ndarray) -> np.ndarray:
        for column, value, width in zip(*query, strict=True):
            rows = rows[np.abs(self.columns[column][rows] - value) <= width]
            if not len(rows):
                break
        return rows

    def _held_by_each(self, queries: list[Query]) -> Iterator[tuple[int, np.ndarray]]:
        """Each predicate's index and its rows (``MANY`` of them at most when it holds for more)."""
        if not queries:
            return
        for i, (column, low, high) in enumerate(zip(*self._candidates(queries), strict=True)):
            if high > low:
                yield i, self.matches(queries[i], column, low, high, MANY)

    def counts(self, queries: list[Query]) -> np.ndarray:
        """How many rows each predicate holds for, up to ``MANY`` (exact below it)."""
        out = np.zeros(len(queries), dtype=int)
        for i, rows in self._held_by_each(queries):
            out[i] = min(len(rows), MANY)
        return out

    def single(self, queries: list[Query]) -> np.ndarray:
        """For each predicate, the one row it holds for (-1: none or several)."""
        out = np.full(len(queries), -1)
        for i, rows in self._held_by_each(queries):
            if len(rows) == 1:
                out[i] = rows[0]
        return out


def _queries(synth: Index, widths: np.ndarray, rng: np.random.Generator) -> list[Query]:
    """Up to ``SINGLING_OUT_QUERIES`` distinct predicates that single out one synthetic row."""
    synth_x = synth.x
    width = synth_x.shape[1]
    per_query = min(SINGLING_OUT_COLUMNS, width)
    found: dict[bytes, Query] = {}
    batch = 2 * SINGLING_OUT_QUERIES
    for _ in range(SINGLING_OUT_TRIES):
        rows = synth_x[rng.integers(len(synth_x), size=batch)]
        cols = np.sort(np.argsort(rng.random((batch, width)), axis=1)[:, :per_query], axis=1)
        values = np.take_along_axis(rows, cols, axis=1)
        candidates = [(cols[i], values[i], widths[cols[i]]) for i in range(batch)]
        for query, count in zip(candidates, synth.counts(candidates), strict=True):
            key = np.concatenate(query[:2]).tobytes()
            if count == 1 and key not in found:
                found[key] = query
        if len(found) >= SINGLING_OUT_QUERIES:
            break
    return list(found.values())[:SINGLING_OUT_QUERIES]
