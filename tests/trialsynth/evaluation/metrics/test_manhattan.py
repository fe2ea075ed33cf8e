import numpy as np
from sklearn.neighbors import NearestNeighbors

from trialsynth.evaluation.metrics import manhattan


def _mixed(n: int, rng: np.random.Generator) -> np.ndarray:
    """Rows as the attacks embed them: measurements, a binary, a missingness flag, a one-hot."""
    measured = np.round(rng.random((n, 3)), 2)  # rounded: ties between rows
    binary = rng.integers(0, 2, (n, 1)).astype(float)
    flag = (rng.random((n, 1)) < 0.1).astype(float)
    onehot = np.eye(4)[rng.integers(0, 4, n)] * 0.5
    return np.hstack([measured, binary, flag, onehot])


def test_two_valued_dimensions_are_told_from_measurements():
    rows = _mixed(200, np.random.default_rng(0))
    layout = manhattan.Layout.of(rows[:100], rows[100:])
    assert list(layout.measured) == [0, 1, 2]
    assert list(layout.paired) == [3, 4, 5, 6, 7, 8]
    assert list(layout.value) == [1.0, 1.0, 0.5, 0.5, 0.5, 0.5]
    shifted = rows.copy()
    shifted[0, 3] = 2.0  # a third value: summed term by term
    assert 3 in manhattan.Layout.of(shifted).measured


def test_nearest_is_a_brute_force_search_with_its_ties():
    rng = np.random.default_rng(1)
    points, queries = _mixed(3000, rng), _mixed(400, rng)
    queries[:20] = points[rng.choice(3000, 20)]  # copies: distance 0
    search = NearestNeighbors(n_neighbors=3, algorithm="brute", metric="manhattan").fit(points)
    want_d, want_i = search.kneighbors(queries)
    got_d, got_i = manhattan.nearest(points, queries)
    np.testing.assert_allclose(got_d[:, 0], want_d[:, 0], atol=1e-9)
    assert (got_d[:20, 0] == 0).all()
    every = np.abs(points[None, :, :] - queries[:, None, :]).sum(axis=2)
    first = (np.abs(every - got_d[:, :1]) < 1e-9).argmax(axis=1)
    assert (got_i[:, 0] == first).all()  # a tie goes to the earlier point
    got_d3, got_i3 = manhattan.nearest(points, queries, k=3)
    np.testing.assert_allclose(got_d3, want_d, atol=1e-9)
    assert (np.diff(got_d3, axis=1) >= 0).all()
    recomputed = np.abs(points[got_i3] - queries[:, None, :]).sum(axis=2)
    np.testing.assert_allclose(recomputed, got_d3, atol=1e-9)


def test_a_block_boundary_changes_nothing(monkeypatch):
    rng = np.random.default_rng(2)
    points, queries = _mixed(500, rng), _mixed(97, rng)
    whole = manhattan.nearest(points, queries, k=2)
    monkeypatch.setattr(manhattan, "BLOCK_CELLS", 7 * 500)  # seven queries a block
    blocked = manhattan.nearest(points, queries, k=2)
    assert (whole[1] == blocked[1]).all() and (whole[0] == blocked[0]).all()


def test_repeated_minima_order_ties_as_the_partition_does(monkeypatch):
    """Up to ``FEW`` neighbours come from repeated minima, more from a partition and a sort: the
    same points in the same order (by distance, then the earlier point), ties included."""
    rng = np.random.default_rng(3)
    points, queries = _mixed(800, rng), _mixed(150, rng)
    points[400:] = points[:400]  # every point twice: ties at every distance
    for k in (1, 2, 5):
        fewest = manhattan.nearest(points, queries, k=k)
        monkeypatch.setattr(manhattan, "FEW", 0)
        sorted_ = manhattan.nearest(points, queries, k=k)
        monkeypatch.undo()
        assert (fewest[1] == sorted_[1]).all() and (fewest[0] == sorted_[0]).all()
        every = np.round(np.abs(points[None, :, :] - queries[:, None, :]).sum(axis=2), manhattan.DECIMALS)
        order = np.lexsort((np.broadcast_to(np.arange(len(points)), every.shape), every), axis=1)
        assert (fewest[1] == order[:, :k]).all()


def test_distances_accumulate_in_place():
    rng = np.random.default_rng(4)
    points, queries = _mixed(300, rng), _mixed(60, rng)
    layout = manhattan.Layout.of(points, queries)
    got = manhattan.distances(
        manhattan.Points.of(queries, layout), manhattan.Points.of(points, layout), layout
    )
    want = np.abs(points[None, :, :] - queries[:, None, :]).sum(axis=2)
    np.testing.assert_allclose(got, want, atol=1e-9)
    assert got.flags.c_contiguous and got.shape == (60, 300)
