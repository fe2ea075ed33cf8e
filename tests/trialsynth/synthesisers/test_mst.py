import math

import numpy as np
import pandas as pd
import pytest

from trialsynth.cleaning import clean
from trialsynth.errors import TrialDataError
from trialsynth.synthesisers import discretise
from trialsynth.synthesisers.mst import MstSynthesiser, _contiguous_groups, zcdp_rho

BOUNDS = {"score": (0.0, 10.0), "post": (0.0, 20.0)}


@pytest.fixture(scope="module")
def tiny():
    rng = np.random.default_rng(0)
    n = 600
    arm = rng.integers(0, 2, n)
    score = np.round(rng.uniform(0, 10, n), 1)
    post = np.round(score + 3 * arm + rng.normal(0, 1, n), 1)
    post[rng.random(n) < 0.1] = np.nan
    frame = pd.DataFrame({"arm": arm, "sex": rng.choice(["F", "M"], n), "score": score, "post": post})
    return clean(frame, trial_id="t", treatment="arm", outcomes=["post"])


def _fit(tiny, seed=1, **params):
    data, meta = tiny
    params = {"epsilon": 5.0, "iterations": 200, "n_bins": 8, "bounds": BOUNDS, **params}
    return MstSynthesiser(random_state=seed, **params).fit(data, meta, noise=np.random.default_rng(seed))


def test_zcdp_conversion_round_trips():
    for epsilon in (0.1, 1.0, 10.0):
        rho = zcdp_rho(epsilon, 1e-9)
        assert rho + 2 * math.sqrt(rho * math.log(1e9)) == pytest.approx(epsilon)


def test_fit_records_the_spend_and_keeps_the_forced_pair(tiny):
    model = _fit(tiny, preserve="primary")
    assert model.epsilon_spent_ == 5.0
    assert model.edges_[0] == ("arm", "post")
    tree = [e for e in model.edges_[1:]]
    assert 2 <= len(tree) <= 3  # a spanning tree over 4 columns, less the forced pair if chosen
    assert model.fitted_record()["bin_scheme"]["score"] == {
        "bins": 8,
        "bounds": [0.0, 10.0],
        "na_code": False,
    }
    assert model.privacy_spent() == {"epsilon": 5.0, "delta": 1e-9, "rho": zcdp_rho(5.0, 1e-9)}
    assert "(5, 1e-09)-DP" in model.accounting()


def test_noise_comes_only_from_the_generator_given_to_fit(tiny):
    """The noise stream decides the release: the same generator state gives the same model
    whatever ``random_state`` says; without a generator, fresh entropy makes each fit differ."""
    data, meta = tiny
    params = {"epsilon": 5.0, "iterations": 100, "n_bins": 8, "bounds": BOUNDS}

    def release(model):
        return model.sample(300, np.random.default_rng(9))

    a = MstSynthesiser(random_state=1, **params).fit(data, meta, noise=np.random.default_rng(42))
    b = MstSynthesiser(random_state=2, **params).fit(data, meta, noise=np.random.default_rng(42))
    pd.testing.assert_frame_equal(release(a), release(b))
    fresh = [MstSynthesiser(random_state=1, **params).fit(data, meta) for _ in range(2)]
    assert not release(fresh[0]).equals(release(fresh[1]))


def test_sample_types_ranges_and_missingness(tiny):
    data, _ = tiny
    synthetic = _fit(tiny).sample(len(data), np.random.default_rng(0))
    assert list(synthetic.columns) == list(data.columns)
    assert (synthetic.dtypes == data.dtypes).all()
    assert synthetic["score"].between(0, 10).all() and synthetic["post"].dropna().between(0, 20).all()
    assert synthetic["score"].isna().sum() == 0 and 0.02 < synthetic["post"].isna().mean() < 0.25
    assert set(synthetic["sex"]) <= {"F", "M"}


def test_same_seed_same_release(tiny):
    a = _fit(tiny, seed=4).sample(300, np.random.default_rng(9))
    b = _fit(tiny, seed=4).sample(300, np.random.default_rng(9))
    c = _fit(tiny, seed=5).sample(300, np.random.default_rng(9))
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)


def test_bounds_are_required_never_read_off_the_data(tiny):
    data, meta = tiny
    with pytest.raises(TrialDataError, match=r"\['post'\] need public bounds"):
        MstSynthesiser(bounds={"score": (0, 10)}).fit(data, meta)


@pytest.mark.parametrize(("name", "value"), [("epsilon", 0.0), ("delta", 1.5), ("preserve", "some")])
def test_bad_parameters_are_named(tiny, name, value):
    data, meta = tiny
    with pytest.raises(ValueError, match=f"'{name}' parameter of MstSynthesiser"):
        MstSynthesiser(bounds=BOUNDS, **{name: value}).fit(data, meta)


def test_discretisation_round_trip(tiny):
    data, meta = tiny
    scheme = discretise.fit_bins(data, meta, BOUNDS, n_bins=10)
    codes = discretise.encode(data, scheme)
    assert codes["post"].max() == scheme["post"].size - 1  # the NA code
    back = discretise.decode(codes, scheme, {"score": 1, "post": 1}, np.random.default_rng(0))
    assert back["post"].isna().equals(data["post"].isna())
    width = 1.0  # score bins are 1 wide: each value comes back inside its own bin
    assert (np.abs(back["score"] - data["score"]) <= width + 0.05).all()


def test_contiguous_compression_keeps_order():
    mapping = _contiguous_groups(np.array([1.0, 1.0, 50.0, 60.0, 2.0, 1.0, 5.0]), 10.0, has_missing_code=True)
    assert mapping.tolist() == [0, 0, 0, 1, 1, 1, 2]
    assert (np.diff(mapping[:-1]) >= 0).all()


def test_release_is_the_same_while_other_threads_use_numpy_global_random(tiny):
    """Trials run in threads: another trial drawing from numpy's global generator must not change
    this trial's release."""
    import threading

    model = _fit(tiny, seed=4)
    alone = model.sample(2000, np.random.default_rng(9))
    stop, running = threading.Event(), threading.Event()
    draws = [0]

    def draw_globally():
        running.set()
        while not stop.is_set():
            np.random.random(64)
            draws[0] += 1

    noisy_neighbour = threading.Thread(target=draw_globally)
    noisy_neighbour.start()
    try:
        assert running.wait(10)
        before = draws[0]
        beside = [model.sample(2000, np.random.default_rng(9)) for _ in range(3)]
        during = draws[0] - before
    finally:
        stop.set()
        noisy_neighbour.join()
    assert during > 0  # the neighbour really drew from the global generator meanwhile
    for frame in beside:
        pd.testing.assert_frame_equal(alone, frame)
