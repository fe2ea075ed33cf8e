import dataclasses
import math

import numpy as np
import pandas as pd
import pytest

from trialsynth.data.cleaning import clean
from trialsynth.domain import ColumnDomain, PublicDomain
from trialsynth.dp.accounting import plan_budget, zcdp_rho
from trialsynth.dp.noise import PublicNoise
from trialsynth.errors import TrialDataError
from trialsynth.plan import Roles
from trialsynth.synthesisers import discretise
from trialsynth.synthesisers.marginal_models import contiguous_groups
from trialsynth.synthesisers.mst import MstSynthesiser

DOMAIN = PublicDomain(
    (
        ColumnDomain("arm", levels=(0, 1), missing=False),
        ColumnDomain("sex", levels=("F", "M"), missing=False),
        ColumnDomain("score", bounds=(0.0, 10.0), missing=False, decimals=1),
        ColumnDomain("post", bounds=(0.0, 20.0), missing=True, decimals=1),
    )
)


@pytest.fixture(scope="module")
def tiny():
    rng = np.random.default_rng(0)
    n = 600
    arm = rng.integers(0, 2, n)
    score = np.round(rng.uniform(0, 10, n), 1)
    post = np.round(score + 3 * arm + rng.normal(0, 1, n), 1)
    post[rng.random(n) < 0.1] = np.nan
    frame = pd.DataFrame({"arm": arm, "sex": rng.choice(["F", "M"], n), "score": score, "post": post})
    data, meta = clean(frame, Roles.of(treatment="arm", outcomes=["post"]), trial_id="t")
    return data, dataclasses.replace(meta, domain=DOMAIN)


def _fit(tiny, seed=1, **params):
    data, meta = tiny
    params = {"epsilon": 5.0, "iterations": 200, "n_bins": 8, **params}
    return MstSynthesiser(random_state=seed, **params).fit(
        data, meta, noise=PublicNoise(np.random.default_rng(seed))
    )


def test_zcdp_conversion_round_trips():
    for epsilon in (0.1, 1.0, 10.0):
        rho = zcdp_rho(epsilon, 1e-9)
        assert rho + 2 * math.sqrt(rho * math.log(1e9)) == pytest.approx(epsilon)


@pytest.mark.parametrize(("share", "selects"), [(0.0, False), (0.1, True), (0.3, False)])
def test_the_rho_split_sums_to_the_budget(share, selects):
    budget = plan_budget(1.0, 1e-9, estimate_share=share, selects=selects)
    assert sum(budget.parts.values()) == pytest.approx(budget.rho)
    assert budget.parts["domain"] == pytest.approx(share * budget.rho)
    assert budget.delta_conversion + budget.delta_selection == pytest.approx(1e-9)
    assert budget.rho == pytest.approx(zcdp_rho(1.0, budget.delta_conversion))


def test_sigma_matches_the_budget_under_replace_one(tiny):
    """Each marginal has L2 sensitivity sqrt 2: d one-way marginals at sigma cost 2d / (2 sigma^2),
    and the two-way measurements' costs 2 / (2 sigma_k^2) add up to their third."""
    model = _fit(tiny, preserve="primary")
    parts = model.budget_.parts
    d = 4
    assert 2 * d / (2 * model.sigmas_["one_way"] ** 2) == pytest.approx(parts["one_way"])
    weights = [model.preserve_weight] + [1.0] * (len(model.edges_) - 1)
    sigma_of = {w: math.sqrt(sum(weights) / (parts["two_way"] * w)) for w in set(weights)}
    spent = sum(2 / (2 * sigma_of[w] ** 2) for w in weights)
    assert spent == pytest.approx(parts["two_way"])
    assert sorted(round(s, 6) for s in set(sigma_of.values())) == model.sigmas_["two_way"]


def test_fit_records_the_spend_and_keeps_the_forced_pair(tiny):
    model = _fit(tiny, preserve="primary")
    assert model.epsilon_spent_ == 5.0
    assert model.edges_[0] == ("arm", "post")
    assert 2 <= len(model.edges_[1:]) <= 3  # a spanning tree over 4 columns, less the forced pair
    record = model.fitted_record()
    assert record["bin_scheme"]["score"] == {"bins": 8, "bounds": [0.0, 10.0], "na_code": False}
    assert model.privacy_spent() == {"epsilon": 5.0, "delta": 1e-9, "rho": zcdp_rho(5.0, 1e-9)}
    assert "(5, 1e-09)-DP" in record["guarantee"] and "replacing one row" in record["guarantee"]
    assert record["domain"]["columns"]["sex"]["levels"] == ["F", "M"]


def test_public_noise_repeats_and_secure_noise_never_does(tiny):
    """Seeded noise (public data only) gives the same model; the default, secure noise differs
    on every fit whatever ``random_state`` says."""
    data, meta = tiny
    params = {"epsilon": 5.0, "iterations": 100, "n_bins": 8}

    def release(model):
        return model.sample(300, np.random.default_rng(9))

    a = MstSynthesiser(random_state=1, **params).fit(data, meta, noise=PublicNoise(np.random.default_rng(42)))
    b = MstSynthesiser(random_state=1, **params).fit(data, meta, noise=PublicNoise(np.random.default_rng(42)))
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


def test_a_fit_without_a_public_domain_is_refused(tiny):
    data, meta = tiny
    with pytest.raises(TrialDataError, match="public domain"):
        MstSynthesiser().fit(data, dataclasses.replace(meta, domain=None))


def test_an_incomplete_domain_is_refused_unless_estimated(tiny):
    data, meta = tiny
    partial = dataclasses.replace(DOMAIN, columns=(*DOMAIN.columns[:3], ColumnDomain("post", "continuous")))
    with pytest.raises(ValueError, match="estimate is false"):
        MstSynthesiser(iterations=50).fit(data, dataclasses.replace(meta, domain=partial))


@pytest.mark.parametrize(("name", "value"), [("epsilon", 0.0), ("delta", 1.5), ("preserve", "some")])
def test_bad_parameters_are_named(tiny, name, value):
    data, meta = tiny
    with pytest.raises(ValueError, match=f"'{name}' parameter of MstSynthesiser"):
        MstSynthesiser(**{name: value}).fit(data, meta)


def test_discretisation_round_trip(tiny):
    data, _ = tiny
    scheme = discretise.bins_from_domain(DOMAIN, n_bins=10)
    codes = discretise.encode(data, scheme)
    assert codes["post"].max() == scheme["post"].size - 1  # the NA code
    back = discretise.decode(codes, scheme, {"score": 1, "post": 1}, np.random.default_rng(0))
    assert back["post"].isna().equals(data["post"].isna())
    width = 1.0  # score bins are 1 wide: each value comes back inside its own bin
    assert (np.abs(back["score"] - data["score"]) <= width + 0.05).all()


def test_values_outside_the_domain_are_mapped_to_public_states():
    scheme = discretise.bins_from_domain(DOMAIN, n_bins=10)
    frame = pd.DataFrame(
        {
            "arm": [1, 7, None],
            "sex": ["M", "Z-unique", None],
            "score": [50.0, None, -3.0],
            "post": [1.0, None, 99.0],
        }
    )
    codes = discretise.encode(frame, scheme)
    assert codes["arm"].tolist() == [1, 0, 0]  # no missing state: the first level
    assert codes["sex"].tolist() == [1, 0, 0]
    assert codes["score"].tolist() == [9, 5, 0]  # clipped, or the middle bin
    assert codes["post"].tolist() == [0, 10, 9]  # the missing state exists for post


def test_contiguous_compression_keeps_order():
    mapping = contiguous_groups(np.array([1.0, 1.0, 50.0, 60.0, 2.0, 1.0, 5.0]), 10.0, has_missing_code=True)
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


def test_a_pupil_of_k_rows_is_protected_by_noise_k_times_larger_and_charged_as_one(tiny):
    """Group privacy: replacing one pupil replaces its k rows, so every measurement's noise is k
    times a row's at the same epsilon, and the spend recorded is the pupil's rho, not a row's."""
    one, four = _fit(tiny), _fit(tiny, unit_rows=4)
    assert four.sigmas_["one_way"] == pytest.approx(4 * one.sigmas_["one_way"])
    assert max(four.sigmas_["two_way"]) == pytest.approx(4 * max(one.sigmas_["two_way"]), rel=1e-5)
    assert four.budget_.rho == pytest.approx(one.budget_.rho / 16)
    assert four.privacy_spent() == pytest.approx(one.privacy_spent())  # epsilon and rho per pupil
    record = four.fitted_record()["budget"]
    assert record["rows_per_pupil"] == 4 and record["rho_per_pupil"] == pytest.approx(one.budget_.rho)
    assert "replacing one pupil's rows (each pupil contributes exactly 4" in four.accounting()
    with pytest.raises(ValueError, match="unit_rows"):
        _fit(tiny, unit_rows=0)
