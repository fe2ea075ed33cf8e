import dataclasses
import math

import numpy as np
import pandas as pd
import pytest

from trialsynth.data.cleaning import clean
from trialsynth.domain import ColumnDomain, PublicDomain
from trialsynth.dp.accounting import zcdp_rho
from trialsynth.dp.noise import PublicNoise
from trialsynth.plan import Roles
from trialsynth.synthesisers.aim import AimSynthesiser
from trialsynth.synthesisers.aim_rounds import select_feasible
from trialsynth.synthesisers.aim_workload import candidate_weights, trial_workload
from trialsynth.synthesisers.marginal_models import load_mbi

DOMAIN = PublicDomain(
    (
        ColumnDomain("arm", levels=(0, 1), missing=False),
        ColumnDomain("sex", levels=("F", "M"), missing=False),
        ColumnDomain("band", levels=("a", "b", "c"), missing=False),
        ColumnDomain("pre_score", bounds=(0.0, 10.0), missing=False, decimals=1),
        ColumnDomain("post_score", bounds=(0.0, 20.0), missing=True, decimals=1),
    )
)
FAST = {"n_bins": 6, "rounds_per_column": 1, "round_iterations": 20, "final_iterations": 100}


@pytest.fixture(scope="module")
def tiny():
    rng = np.random.default_rng(0)
    n = 1500
    arm = rng.integers(0, 2, n)
    pre = np.round(rng.uniform(0, 10, n), 1)
    post = np.round(np.clip(pre + 6 * arm + rng.normal(0, 1, n), 0, 20), 1)
    post[rng.random(n) < 0.1] = np.nan
    sex = rng.choice(["F", "M"], n)
    band = np.where(sex == "F", "a", rng.choice(["b", "c"], n))  # sex and band strongly related
    frame = pd.DataFrame({"arm": arm, "sex": sex, "band": band, "pre_score": pre, "post_score": post})
    data, meta = clean(frame, Roles.of(treatment="arm", outcomes=["post_score"]), trial_id="t")
    return data, dataclasses.replace(meta, domain=DOMAIN)


def _fit(tiny, seed=1, **params):
    data, meta = tiny
    return AimSynthesiser(**{"epsilon": 5.0, **FAST, **params}).fit(
        data, meta, noise=PublicNoise(np.random.default_rng(seed))
    )


def test_the_analysis_workload_is_built_from_roles_alone(tiny):
    _, meta = tiny
    columns = list(DOMAIN.names)
    assert trial_workload(columns, meta, weight=3.0) == {("arm", "post_score", "pre_score"): 3.0}
    declared = trial_workload(columns, meta, covariates=("band",), school_covariates=("sex",))
    assert declared == {("arm", "post_score", "band"): 1.0, ("post_score", "sex"): 1.0}
    plain = AimSynthesiser(workload="pairs").workload_of(columns, meta)
    assert len(plain) == 10 and all(len(c) == 2 and w == 1.0 for c, w in plain.items())
    assert AimSynthesiser(workload="pairs").analysis_cliques(columns, meta) == {}


def test_candidates_are_the_downward_closure_weighted_as_in_the_paper():
    weights = candidate_weights({("a", "b"): 1.0, ("b", "c"): 2.0})
    assert weights == {("a",): 1.0, ("b",): 3.0, ("c",): 2.0, ("a", "b"): 4.0, ("b", "c"): 5.0}


def test_the_budget_is_spent_exactly_and_recorded(tiny):
    model = _fit(tiny)
    budget = model.budget_
    assert sum(budget.parts.values()) == pytest.approx(budget.rho)
    # the atoms' selection (dp.atoms) takes half of delta and its share of rho
    assert budget.rho == pytest.approx(zcdp_rho(5.0, 0.5e-9))
    assert budget.parts["atoms"] == pytest.approx(0.05 * budget.rho)
    # every round pays 1/sigma^2 for its measurement (sensitivity sqrt 2) and epsilon^2/8 for its choice
    rounds = model.rounds_
    assert rounds and budget.parts["selection"] == pytest.approx(sum(r["epsilon"] ** 2 / 8 for r in rounds))
    measured = sum(1 / r["sigma"] ** 2 for r in rounds)
    assert budget.parts["measurement"] == pytest.approx(measured, rel=1e-4)
    assert budget.parts["analysis"] == pytest.approx(
        sum(1 / k["sigma"] ** 2 for k in model.initial_), rel=1e-4
    )
    assert model.initial_[0]["clique"] == ["arm", "post_score", "pre_score"]
    assert model.privacy_spent() == {"epsilon": 5.0, "delta": 1e-9, "rho": budget.rho}
    record = model.fitted_record()
    assert "(5, 1e-09)-DP" in record["guarantee"] and "AIM with a trial workload" in record["guarantee"]
    assert set(record["seconds"]) >= {"estimate", "score", "fit"}


def test_the_time_budget_makes_the_next_round_the_last_and_spends_what_is_left(tiny):
    model = _fit(tiny, time_budget=1e-6, batch=3)
    assert model.stopped_by_ == "time_budget" and [r["round"] for r in model.rounds_] == [1, 1, 1]
    assert len({tuple(r["clique"]) for r in model.rounds_}) == 3  # a batch never repeats a marginal
    assert sum(model.budget_.parts.values()) == pytest.approx(model.budget_.rho)
    # the plan is cut to max_rounds x batch measurements, so budget and cap end the rounds together
    capped = _fit(tiny, max_rounds=2, rounds_per_column=50, batch=2)
    assert capped.stopped_by_ in ("max_rounds", "budget") and {r["round"] for r in capped.rounds_} <= {1, 2}
    assert sum(capped.budget_.parts.values()) == pytest.approx(capped.budget_.rho)


def test_the_rounds_pick_related_pairs_at_a_large_epsilon(tiny):
    """Plain AIM from one-way marginals: with the exponential mechanism nearly exact, the first
    rounds find the related pairs (sex x band, pre x post, arm x post), never an independent one."""
    model = _fit(tiny, epsilon=200.0, max_rounds=3, workload="pairs")
    related = [{"sex", "band"}, {"pre_score", "post_score"}, {"arm", "post_score"}]
    assert all(set(r["clique"]) in related for r in model.rounds_[:2]), model.rounds_


def test_the_size_cap_only_admits_what_fits():
    mbi = load_mbi()
    domain = mbi.Domain(["a", "b", "c"], [50, 50, 50])
    chosen = [("a",), ("b",), ("c",)]
    candidates = [("a", "b"), ("a",)]
    scores = np.array([1e6, 0.0])
    noise = PublicNoise(np.random.default_rng(0))
    assert select_feasible(mbi, domain, chosen, candidates, scores, 10.0, 2.0, noise, 1.0) == ("a", "b")
    # a 50 x 50 table is 0.019 MB: under a 0.01 MB cap only what the model already holds is feasible
    assert select_feasible(mbi, domain, chosen, candidates, scores, 10.0, 2.0, noise, 0.01) == ("a",)


def test_the_treatment_effect_survives_a_generous_budget(tiny):
    data, _ = tiny
    model = _fit(tiny, epsilon=20.0, n_bins=32, max_rounds=3, final_iterations=1500)
    synthetic = model.sample(len(data), np.random.default_rng(3))

    def effect(frame):
        means = frame.groupby("arm")["post_score"].mean()
        return means[1] - means[0]

    assert abs(effect(synthetic) - effect(data)) < 1.0, (effect(data), effect(synthetic))
    assert (synthetic.dtypes == data.dtypes).all()


def test_public_noise_repeats_and_secure_noise_never_does(tiny):
    data, meta = tiny

    def release(model):
        return model.sample(300, np.random.default_rng(9))

    a, b = (_fit(tiny, seed=4) for _ in range(2))
    pd.testing.assert_frame_equal(release(a), release(b))
    fresh = [AimSynthesiser(epsilon=5.0, **FAST).fit(data, meta) for _ in range(2)]
    assert not release(fresh[0]).equals(release(fresh[1]))


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("epsilon", 0.0),
        ("delta", 1.5),
        ("workload", "all"),
        ("analysis_share", 1.0),
        ("time_budget", 0),
        ("batch", 0),
    ],
)
def test_bad_parameters_are_named(tiny, name, value):
    data, meta = tiny
    with pytest.raises(ValueError, match=f"'{name}' parameter of AimSynthesiser"):
        AimSynthesiser(**{name: value}).fit(data, meta)


@pytest.mark.parametrize(("per_column", "max_rounds", "batch", "planned"), [(4, 30, 1, 20), (4, 3, 2, 6)])
def test_the_noise_scale_follows_the_plan(tiny, per_column, max_rounds, batch, planned):
    """sigma_0 = sqrt((T + d) / (alpha rho')) with T = min(rounds_per_column x d, max_rounds x batch),
    d = 5
    one-way marginals and rho' what is left after the atoms' and the analysis's shares: the first
    round's sigma says so, and the one-way marginals never cost more than alpha rho' even when T < d."""
    model = _fit(tiny, rounds_per_column=per_column, max_rounds=max_rounds, batch=batch)
    rho_aim = model.budget_.rho - model.budget_.parts["atoms"]  # after the atoms' selection
    rho_rounds = rho_aim * (1 - model.analysis_share)
    sigma = math.sqrt((planned + 5) / (0.9 * rho_rounds))
    assert model.rounds_[0]["sigma"] == pytest.approx(sigma, rel=1e-5)
    assert model.budget_.parts["one_way"] == pytest.approx(5 / sigma**2) and 5 / sigma**2 < 0.9 * rho_rounds


def test_replacing_one_record_moves_each_marginal_and_score_within_the_stated_sensitivity(tiny):
    """The neighbour an adversary builds: one pupil's record replaced by an extreme one. Every
    candidate's counts move by at most 2 in L1 (sqrt 2 in L2, what sigma is set from), and so its
    quality score by at most 2 w_r, within the mechanism's sensitivity 2 max w."""
    from trialsynth.synthesisers.marginal_models import prepare

    data, meta = tiny
    neighbour = data.copy()
    neighbour.loc[neighbour.index[0], ["arm", "sex", "band", "pre_score", "post_score"]] = [
        1,
        "M",
        "c",
        10.0,
        0.0,
    ]
    model = AimSynthesiser()
    columns = list(DOMAIN.names)
    weights = candidate_weights({**model.workload_of(columns, meta), **model.analysis_cliques(columns, meta)})
    noise = PublicNoise(np.random.default_rng(0))
    a, b = (
        prepare(d, meta, epsilon=1.0, delta=1e-9, n_bins=8, noise=noise).dataset for d in (data, neighbour)
    )
    model_counts = {r: np.full(a.project(r).datavector().size, 7.0) for r in weights}
    sensitivity = 2 * max(weights.values())
    moved = []
    for r, w in weights.items():
        x, y = a.project(r).datavector(), b.project(r).datavector()
        assert np.abs(x - y).sum() <= 2 and np.sqrt(((x - y) ** 2).sum()) <= math.sqrt(2) + 1e-12
        score = [w * np.abs(v - model_counts[r]).sum() for v in (x, y)]
        assert abs(score[0] - score[1]) <= sensitivity
        moved.append(np.abs(x - y).sum())
    assert max(moved) == 2  # the planted record did move some marginal: the check has power


def test_an_untuned_epsilon_stays_within_the_archives_cap():
    from trialsynth.plan import Policy, Roles, TrialPlan

    def plan(**kw):
        return TrialPlan(archive="a", trial_id="t", roles=Roles(treatment="arm", outcomes=("post",)), seed=1,
                         data_path="t.csv", method="aim", **kw)  # fmt: skip

    assert AimSynthesiser.params_from(plan())["epsilon"] == 1.0
    assert AimSynthesiser.params_from(plan(policy=Policy(epsilon_cap=0.4)))["epsilon"] == 0.4
    assert AimSynthesiser.params_from(plan(epsilon=0.2))["epsilon"] == 0.2
