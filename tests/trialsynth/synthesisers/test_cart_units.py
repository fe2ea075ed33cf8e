import numpy as np
import pandas as pd
import pytest

from trialsynth.data.cleaning import clean
from trialsynth.data.restore import restore_dropped
from trialsynth.plan import Roles
from trialsynth.synthesisers.cart import CartSynthesiser
from trialsynth.synthesisers.cart_clustering import shrunken_means
from trialsynth.synthesisers.cart_units import UnitCart, constant_share

WAVES = 3


def _long(pupils: int = 900, schools: int = 30, crossed: bool = False, seed: int = 0) -> pd.DataFrame:
    """Pupils in schools, three waves each (some leave early), a pupil effect and a school
    effect on the score, the arm randomised by pupil; ``crossed``: each row in any school."""
    rng = np.random.default_rng(seed)
    school = rng.integers(0, schools, pupils)
    arm = rng.integers(0, 2, pupils)
    sex = rng.choice(["f", "m"], pupils)
    pupil_effect = rng.normal(0, 2.0, pupils)
    school_effect = rng.normal(0, 0.5, schools)
    waves = rng.choice([1, 2, 3], pupils, p=[0.1, 0.2, 0.7])
    rows = []
    for p in range(pupils):
        for wave in range(1, waves[p] + 1):
            s = int(rng.integers(0, schools)) if crossed else int(school[p])
            score = 50 + 2 * wave + 1.5 * arm[p] + pupil_effect[p] + school_effect[s] + rng.normal(0, 1)
            rows.append((f"p{p:04d}", s + 1, arm[p], sex[p], wave, round(score, 1)))
    return pd.DataFrame(rows, columns=["pupil", "school", "arm", "sex", "wave", "score"])


def _cleaned(frame: pd.DataFrame):
    roles = Roles(treatment="arm", outcomes=("score",), cluster="school", unit="pupil", categorical=("wave",))
    data, meta = clean(frame, roles, trial_id="long")
    return data, meta, frame["pupil"].to_numpy()


def _pupil_icc(values: pd.Series, ids: np.ndarray) -> float:
    return shrunken_means(values.astype(float).reset_index(drop=True), pd.Series(ids))[1]


@pytest.fixture(scope="module")
def nested():
    return _cleaned(_long())


@pytest.fixture(scope="module")
def drawn(nested):
    data, meta, units = nested
    model = CartSynthesiser(random_state=3).fit(data, meta, units=units)
    return model, model.sample(len(data), np.random.default_rng(4))


def test_constant_share_counts_the_pupils_with_several_rows_whose_values_never_change():
    pupil = np.array([0, 0, 1, 1, 2])
    several = np.bincount(pupil)[pupil] > 1
    assert constant_share(pd.Series([1, 1, 2, 3, 9]), pupil, several) == 0.5
    assert constant_share(pd.Series([1, 1, np.nan, np.nan, 9]), pupil, several) == 1.0  # missing is a value


def test_a_pupils_rows_come_together_with_the_pupils_columns_and_one_school(nested, drawn):
    data, meta, units = nested
    model, synthetic = drawn
    record = model.fitted_record()["design"]
    assert record["rule"] == "cart-units-v1"
    assert record["pupils"]["columns"] == ["arm", "sex"] and record["pupils"]["schools"] == "the pupil's"
    assert record["pupils"]["means_of"] == ["score"]
    pupils = model.drawn_units()
    assert len(synthetic) == len(data) and len(pupils) == len(data)
    assert (np.diff(pupils) >= 0).all()  # a pupil's rows are contiguous
    per_pupil = synthetic.groupby(pupils)
    for name in ("arm", "sex", "school"):
        assert int(per_pupil[name].nunique().max()) == 1
    counts = pd.Series(pupils).value_counts()
    assert counts.max() <= WAVES and abs(counts.mean() - len(data) / len(set(units))) < 0.15


def test_the_correlation_of_a_pupils_rows_is_kept_where_rows_one_by_one_lose_it(nested, drawn):
    data, meta, units = nested
    model, synthetic = drawn
    real = _pupil_icc(data["score"], units)
    kept = _pupil_icc(synthetic["score"], model.drawn_units())
    one_by_one = CartSynthesiser(random_state=3).fit(data, meta)
    rows = one_by_one.sample(len(data), np.random.default_rng(4))
    released = restore_dropped(rows, meta, np.random.default_rng(5))
    lost = _pupil_icc(released["score"], released["pupil"].to_numpy())
    assert real > 0.4
    assert abs(kept - real) < 0.08
    assert lost < real / 2  # (the case the pupil level is for)


def test_waves_follow_each_other_as_the_real_pupils_do(drawn):
    model, synthetic = drawn
    waves = synthetic["wave"].astype(int).groupby(model.drawn_units()).agg(list)
    in_order = waves.map(lambda w: w == list(range(1, len(w) + 1)))
    assert in_order.mean() > 0.9  # (drawn one by one, a 3-row pupil is 1, 2, 3 about 1 time in 9)


def test_the_effect_of_the_arm_is_kept(nested, drawn):
    data, _, _ = nested
    _, synthetic = drawn

    def effect(frame):
        means = frame.groupby(frame["arm"].astype(int))["score"].mean()
        return means[1] - means[0]

    assert effect(synthetic) == pytest.approx(effect(data), abs=0.5)


def test_a_row_drawn_again_keeps_its_pupil_and_place(drawn):
    model, synthetic = drawn
    rng = np.random.default_rng(7)
    flagged = synthetic.iloc[[0, 5, 17]]
    fresh = model.redraw_within(flagged, rng)
    assert len(fresh) == 3
    for column in ("arm", "sex", "school", "wave"):
        assert fresh[column].tolist() == flagged[column].tolist()
    with pytest.raises(ValueError, match="positions"):
        model.design_.sample_within(synthetic.iloc[[0]].set_axis([len(synthetic) + 5]), rng)


def test_released_pupil_ids_group_the_rows_the_method_drew_together(nested, drawn):
    _, meta, _ = nested
    model, synthetic = drawn
    released = restore_dropped(synthetic, meta, np.random.default_rng(0), model.drawn_units())
    ids = released["pupil"]
    assert ids.nunique() == len(set(model.drawn_units()))
    assert (ids.groupby(model.drawn_units()).nunique() == 1).all()


def test_pupils_who_cross_schools_are_drawn_with_a_school_per_row():
    data, meta, units = _cleaned(_long(pupils=600, crossed=True, seed=1))
    model = CartSynthesiser(random_state=0).fit(data, meta, units=units)
    synthetic = model.sample(len(data), np.random.default_rng(1))
    assert model.fitted_record()["design"]["pupils"]["schools"] == "each row's"
    assert synthetic["school"].groupby(model.drawn_units()).nunique().max() > 1
    assert synthetic["school"].notna().all()


def test_bad_input_is_refused(nested):
    data, meta, units = nested
    with pytest.raises(ValueError, match="pupil ids for"):
        UnitCart(5, 0).fit(data, meta, set(), list(data.columns), units[:-1])
    one_row_each = np.arange(len(data)).astype(str)  # nothing varies within a pupil
    with pytest.raises(ValueError, match="not long"):
        UnitCart(5, 0).fit(data, meta, set(), list(data.columns), one_row_each)


def test_a_row_drawn_again_and_again_follows_another_pupils_row_and_keeps_its_own_pupil(nested):
    data, meta, units = nested
    model = CartSynthesiser(random_state=3).fit(data, meta, units=units)
    synthetic = model.sample(len(data), np.random.default_rng(4))
    flagged = synthetic.iloc[[2, 9, 30]]
    rng = np.random.default_rng(8)
    for _ in range(4):  # the gate's rounds: the last two given another pupil's row at that place
        fresh = model.redraw_within(flagged, rng)
        for column in ("arm", "sex", "school"):
            assert fresh[column].tolist() == flagged[column].tolist()
    assert model.design_.tries_[[2, 9, 30]].tolist() == [4, 4, 4]
    assert model.design_.tries_.sum() == 12


def _same_donor(model, name: str, gap: int) -> tuple[int, int]:
    """Of the pairs of rows ``gap`` apart in one new pupil, how many took their ``name`` value
    from one real pupil."""
    donors, pupils = model.design_.donors_[name], model.drawn_units()
    pairs = np.flatnonzero(pupils[gap:] == pupils[:-gap])
    assert (donors[pairs] >= 0).all() and (donors[pairs + gap] >= 0).all()
    return int((donors[pairs] == donors[pairs + gap]).sum()), len(pairs)


def test_a_new_pupils_values_come_from_real_pupils_that_change_from_row_to_row(nested):
    # a leaf chosen by the row before held the donor's own next row, so a new pupil continued a
    # real pupil's trajectory: 2-row starts of the training pupils came back 3-4x as often as
    # those of pupils the model never saw (``bench/trajectories.py``)
    data, meta, units = nested
    model = CartSynthesiser(random_state=3).fit(data, meta, units=units)
    synthetic = model.sample(len(data), np.random.default_rng(4))
    for gap in (1, 2):
        same, pairs = _same_donor(model, "score", gap)
        assert pairs > 300 and same == 0
    flagged = synthetic.iloc[np.flatnonzero(np.diff(model.drawn_units()) == 0)[:200]]
    for _ in range(4):  # the gate's re-draws avoid the rows after them too, borrowed context or not
        model.redraw_within(flagged, np.random.default_rng(5))
        assert _same_donor(model, "score", 1)[0] == 0


def test_a_tiny_files_rows_pool_pupils_too():
    data, meta, units = _cleaned(_long(pupils=20, schools=4, seed=2))
    model = CartSynthesiser(random_state=0).fit(data, meta, units=units)
    model.sample(len(data), np.random.default_rng(1))
    assert _same_donor(model, "score", 1)[0] == 0  # (fewer than 30 pupils: no 3-pupil leaves before)
