import numpy as np

from trialsynth.evaluation.metrics import singling_out
from trialsynth.evaluation.metrics.singling_out import Index


def _rows(n: int, rng: np.random.Generator) -> np.ndarray:
    x = np.column_stack(
        [
            np.round(rng.normal(100, 15, n), 1),  # a measurement
            rng.integers(0, 2, n),  # a binary
            rng.integers(0, 5, n),  # a code
            np.round(rng.random(n), 3),
        ]
    ).astype(float)
    x[rng.random(n) < 0.05, 0] = np.nan  # missing values match nothing
    return x


def _brute(x: np.ndarray, query) -> np.ndarray:
    cols, values, widths = query
    return np.flatnonzero(np.all(np.abs(x[:, cols] - values) <= widths, axis=1))


def _queries(x: np.ndarray, rng: np.random.Generator, n: int):
    widths = np.array([0.3, 0.0, 0.0, 0.01])
    out = []
    for row in rng.integers(len(x), size=n):
        cols = np.sort(rng.choice(4, 2, replace=False))
        out.append((cols, x[row, cols], widths[cols]))
    return out


def test_counts_and_single_rows_are_those_a_full_scan_finds():
    rng = np.random.default_rng(0)
    x = _rows(6000, rng)
    queries = _queries(x, rng, 400)
    index = Index(x)
    found = [_brute(x, q) for q in queries]
    assert (index.counts(queries) == [min(len(f), singling_out.MANY) for f in found]).all()
    assert (index.single(queries) == [f[0] if len(f) == 1 else -1 for f in found]).all()
    assert {min(len(f), 2) for f in found} == {0, 1, 2}  # the check saw every case


def test_a_predicate_on_a_missing_value_holds_for_no_row():
    x = _rows(300, np.random.default_rng(1))
    missing = (np.array([0]), np.array([np.nan]), np.array([1e9]))
    assert Index(x).counts([missing])[0] == 0


def test_a_window_edge_is_inside_as_a_full_scan_has_it():
    x = np.array([[1.0], [1.1], [1.2], [5.0]])
    query = (np.array([0]), np.array([1.1]), np.array([0.1]))  # 1.0 and 1.2 at the edge
    assert Index(x).counts([query])[0] == min(len(_brute(x, query)), singling_out.MANY)
    narrow = (np.array([0]), np.array([5.0]), np.array([0.1]))
    assert Index(x).single([narrow])[0] == 3
