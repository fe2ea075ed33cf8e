import numpy as np
import pytest
from sklearn.tree import DecisionTreeRegressor

from trialsynth.synthesisers.cart_trees import LeafDonors, SequentialCart, Strata, category_scores


def test_leaf_donors_draw_only_from_their_leaf():
    X = np.array([[0.0], [0.0], [0.0], [10.0], [10.0], [10.0]])
    y = np.array([1.0, 2.0, 3.0, 100.0, 200.0, 300.0])
    donors = LeafDonors.fit(DecisionTreeRegressor(min_samples_leaf=3), X, y)
    draws = donors.draw(np.array([[0.0]] * 50 + [[10.0]] * 50), 100, np.random.default_rng(0))
    assert set(draws[:50]) <= {1.0, 2.0, 3.0} and set(draws[50:]) <= {100.0, 200.0, 300.0}
    assert len(set(draws[:50])) == 3  # every donor can be drawn


def test_a_leaf_of_fewer_groups_draws_from_its_nearest_ancestor_with_enough():
    # each school's pupils share a predictor value that isolates the school: alone, a leaf is
    # one school's pupils; with min_groups=3 each leaf draws from at least three schools' rows
    school = np.repeat(np.arange(12), 10)
    X = school[:, None].astype(float)
    y = school * 100.0 + np.tile(np.arange(10.0), 12)
    tree = lambda: DecisionTreeRegressor(min_samples_leaf=5, random_state=0)  # noqa: E731
    alone = LeafDonors.fit(tree(), X, y)
    pooled = LeafDonors.fit(tree(), X, y, groups=school, min_groups=3)
    leaves = np.flatnonzero(alone.counts)

    def schools_of(donors, leaf):
        pool = donors.donors[donors.starts[leaf] : donors.starts[leaf] + donors.counts[leaf]]
        return set((pool // 100).astype(int))

    assert min(len(schools_of(alone, leaf)) for leaf in leaves) == 1
    assert min(len(schools_of(pooled, leaf)) for leaf in leaves) >= 3
    draws = pooled.draw(X, len(X), np.random.default_rng(0))
    assert (draws // 100 != school).mean() > 0.5  # most draws from another school's pupils


def test_category_scores_order_by_target_mean():
    codes = np.array([0, 0, 1, 1, 2, 2])
    y = np.array([5.0, 7.0, 1.0, np.nan, 10.0, 12.0])
    assert category_scores(codes, 3, y, y_categorical=False).tolist() == [6.0, 1.0, 11.0]


def test_category_scores_for_a_categorical_target_separate_classes():
    codes = np.array([0, 0, 1, 1, 2, 2])
    y = np.array([0, 0, 1, 1, 0, 0])
    scores = category_scores(codes, 3, y, y_categorical=True)
    assert scores[0] == pytest.approx(scores[2]) and scores[1] != pytest.approx(scores[0])


def test_sequential_cart_keeps_a_deterministic_relationship_and_missingness():
    rng = np.random.default_rng(0)
    group = rng.integers(0, 3, 3000).astype(float)
    value = np.array([10.0, 20.0, 30.0])[group.astype(int)] + rng.normal(0, 0.1, 3000)
    value[rng.random(3000) < 0.2] = np.nan
    model = SequentialCart(random_state=1).fit(np.column_stack([group, value]), [True, False], [3, 0])
    out = model.sample(3000, np.random.default_rng(2))
    present = ~np.isnan(out[:, 1])
    expected = np.array([10.0, 20.0, 30.0])[out[present, 0].astype(int)]
    assert np.abs(out[present, 1] - expected).max() < 1.0
    assert abs((~present).mean() - 0.2) < 0.03
    again = model.sample(3000, np.random.default_rng(2))
    np.testing.assert_array_equal(out, again)


def test_given_columns_are_taken_as_supplied_and_later_columns_follow_them():
    rng = np.random.default_rng(0)
    x = rng.normal(size=2000)
    matrix = np.column_stack([x, 10 * x])
    cart = SequentialCart(random_state=0).fit(matrix, [False, False], [0, 0], given=(0,))
    supplied = np.linspace(-1, 1, 300)
    out = cart.sample(300, np.random.default_rng(1), {0: supplied})
    assert np.array_equal(out[:, 0], supplied)
    assert np.corrcoef(out[:, 0], out[:, 1])[0, 1] > 0.99
    with pytest.raises(ValueError, match="given columns"):
        cart.sample(10, np.random.default_rng(1))


def test_strata_fit_each_arm_apart_so_an_effect_survives_coarse_leaves():
    rng = np.random.default_rng(0)
    n = 4000
    arm = rng.integers(0, 2, n).astype(float)
    outcome = rng.normal(size=n) + 0.3 * arm
    matrix = np.column_stack([arm, outcome])
    # leaves as large as the file: one pooled leaf would erase the arm's effect
    pooled = SequentialCart(min_leaf=n, random_state=0).fit(matrix, [True, False], [2, 0], given=(0,))
    stratified = SequentialCart(min_leaf=n // 2 - 100, random_state=0).fit(
        matrix, [True, False], [2, 0], given=(0,), strata=Strata(by=0, first=1)
    )
    arms = np.repeat([0.0, 1.0], n // 2)
    for cart, expected in ((pooled, 0.0), (stratified, 0.3)):
        out = cart.sample(n, np.random.default_rng(2), {0: arms})
        effect = out[arms == 1, 1].mean() - out[arms == 0, 1].mean()
        assert effect == pytest.approx(expected, abs=0.08)


def test_a_donor_that_clashes_is_drawn_again_and_a_leaf_of_clashing_donors_keeps_its_draw():
    X = np.array([[0.0], [0.0], [0.0], [10.0], [10.0], [10.0]])
    y = np.array([1.0, 2.0, 3.0, 100.0, 200.0, 300.0])
    donors = LeafDonors.fit(DecisionTreeRegressor(min_samples_leaf=3), X, y, index=np.arange(10, 16))
    assert sorted(donors.sources) == list(range(10, 16))
    low, rng = np.zeros((200, 1)), np.random.default_rng(0)
    picks = donors.pick(low, 200, rng, clash=lambda at, sources: sources == 10)
    assert set(donors.donors[picks]) == {2.0, 3.0}
    only = donors.pick(low, 200, rng, clash=lambda at, sources: sources != 12)  # 1 in 3: found
    assert set(donors.donors[only]) == {3.0}
    every = donors.pick(low, 200, rng, clash=lambda at, sources: np.ones(len(sources), dtype=bool))
    assert set(donors.donors[every]) == {1.0, 2.0, 3.0}


def test_sample_tells_each_values_source_row_and_avoids_the_rows_it_is_told_to():
    rng = np.random.default_rng(1)
    n = 400
    arm = rng.integers(0, 2, n).astype(float)
    x = rng.normal(size=n)
    y = x + arm + rng.normal(0, 0.1, n)
    matrix = np.column_stack([arm, x, y])
    cart = SequentialCart(random_state=0).fit(matrix, [True, False, False], [2, 0, 0], strata=Strata(0, 2))
    avoided = np.arange(0, n, 3)  # a third of the rows may not give y

    def avoid(rows, sources):
        return np.isin(sources, avoided)

    out = cart.sample(300, np.random.default_rng(2), avoid={2: avoid})
    sources = cart.sources_
    assert (sources >= 0).all()
    assert np.array_equal(matrix[sources[:, 1], 1], out[:, 1])  # each value its source row's
    assert np.array_equal(matrix[sources[:, 2], 2], out[:, 2])  # per arm (strata) alike
    assert np.isin(sources[:, 2], avoided).mean() < 0.01  # (a leaf of avoided rows alone keeps its draw)
    assert np.isin(sources[:, 1], avoided).mean() > 0.2  # the other columns as they were
