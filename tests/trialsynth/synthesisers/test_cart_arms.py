import numpy as np
import pandas as pd
import pytest

from trialsynth.data.cleaning import clean
from trialsynth.plan import Roles
from trialsynth.synthesisers.cart import CartSynthesiser
from trialsynth.synthesisers.cart_arms import arm_dependent


def _plans(n: int, seed: int) -> pd.DataFrame:
    """A pupil-randomised trial whose arm sets a plan term (``cap``: none in arm 0, a share of
    income elsewhere) and a measure taken in one arm only (``survey``)."""
    rng = np.random.default_rng(seed)
    arm = rng.choice([0, 25, 50, 95], n, p=[0.4, 0.2, 0.2, 0.2])
    income = rng.lognormal(9, 0.6, n).round(2)
    cap = np.where(arm == 0, 0.0, np.minimum(1000.0, 0.1 * income).round(0))
    survey = np.where(arm == 50, np.nan, rng.normal(70, 10, n).round(1))
    school = rng.integers(0, 50, n)
    spend = 400 - 3 * arm + 0.02 * income + rng.normal(0, 20, 50)[school] + rng.normal(0, 50, n)
    return pd.DataFrame(
        {
            "school": school,
            "sex": rng.choice(["F", "M"], n),
            "income": income,
            "cap": cap,
            "survey": survey,
            "arm": arm,
            "spend": spend.round(1),
        }
    )


def test_a_column_the_arm_sets_is_drawn_after_it_and_keeps_its_tie_to_the_arm():
    frame = _plans(4000, 0)
    data, meta = clean(frame, Roles.of(treatment="arm", outcomes=["spend"], cluster="school"), trial_id="t")
    model = CartSynthesiser(random_state=1).fit(data, meta)
    moved = model.design_.after_arm_
    assert "cap" in moved and any(c.startswith("survey") for c in moved)
    assert "income" not in moved and "sex" not in moved  # independent of the arm: baseline
    assert model.fitted_record()["design"]["drawn_after_arm"] == moved
    synthetic = model.sample(4000, np.random.default_rng(2))
    no_cap = synthetic.groupby("arm")["cap"].apply(lambda c: (c == 0).mean())
    assert no_cap[0] == 1.0 and no_cap.drop(0).max() < 0.05  # dealt with the baseline: ~40% each
    assert synthetic.loc[synthetic["arm"] == 50, "survey"].isna().all()
    assert synthetic.loc[synthetic["arm"] != 50, "survey"].notna().mean() > 0.95


def test_a_column_tied_to_the_arm_only_through_a_dealt_column_stays_a_baseline():
    rng = np.random.default_rng(3)
    n = 6000
    wave = rng.integers(0, 3, n).astype(str)
    arm = (rng.random(n) < np.array([0.2, 0.5, 0.8])[wave.astype(int)]).astype(int)
    frame = pd.DataFrame(
        {
            "wave": wave,
            "age": 5 + wave.astype(int) + rng.normal(0, 0.3, n),  # by wave, not by arm within it
            "chance": rng.normal(size=n),
            "plan": arm * 100 + rng.integers(0, 3, n),  # by the arm
        }
    )
    found = arm_dependent(
        frame, pd.Series(arm), ["wave", "age", "chance", "plan"], np.zeros(n, bool), ("wave",)
    )
    assert found == ["plan"]
    unconditioned = arm_dependent(frame, pd.Series(arm), ["age", "chance", "plan"], np.zeros(n, bool), ())
    assert unconditioned == ["age", "plan"]  # the known-bad reading: age marginally tied to the arm


@pytest.mark.parametrize("seed", range(5))
def test_a_randomised_baseline_is_not_moved_by_chance(seed):
    rng = np.random.default_rng(seed)
    n = 3000
    frame = pd.DataFrame({f"x{k}": rng.normal(size=n) for k in range(8)} | {"coded": rng.integers(0, 5, n)})
    arm = pd.Series(rng.integers(0, 2, n))
    assert arm_dependent(frame, arm, list(frame.columns), np.zeros(n, bool), ()) == []


def test_an_arm_offered_at_some_sites_is_dealt_at_the_new_sites_that_carry_them():
    """A multi-site trial whose plans differ by site (the RAND HIE's free plan at one site of
    six): each new site's pupils are dealt the arms of the real site whose means it carries."""
    rng = np.random.default_rng(4)
    n, sites = 3000, 6
    site = rng.integers(0, sites, n)
    offered = [["free", "a", "b"], ["a", "b"], ["a", "c"], ["a", "b", "c"], ["b", "c"], ["a", "b", "c"]]
    arm = np.array([rng.choice(offered[s]) for s in site])
    score = rng.normal(0, 1, sites)[site] + rng.normal(size=n)
    frame = pd.DataFrame(
        {
            "site": site,
            "age": rng.normal(40, 10, n).round(0) + 5 * site,  # clusters: a school mean to carry
            "sex": rng.choice(["F", "M"], n),
            "arm": arm,
            "spend": (score + (arm == "free")).round(2),
        }
    )
    data, meta = clean(frame, Roles.of(treatment="arm", outcomes=["spend"], cluster="site"), trial_id="t")
    model = CartSynthesiser(random_state=1).fit(data, meta)
    assert any(name.startswith("__school_mean__") for name in model.design_.dealer_.names)
    synthetic = model.sample(n, np.random.default_rng(2))
    held = pd.crosstab(synthetic["site"], synthetic["arm"]) > 0
    assert held["free"].sum() == 1  # dealt at random alone: free pupils at every site
    assert sorted(held.sum(axis=1).tolist()) == sorted(len(o) for o in offered)


def test_the_chi_square_within_cells_is_scipys_times_n_minus_one_over_n_and_holds_its_level():
    from scipy.stats import chi2_contingency

    from trialsynth.synthesisers.cart_arms import _within

    rng = np.random.default_rng(0)
    n = 3000
    cell = rng.choice(["a", "b", "c"], n).astype(object)
    arm = rng.choice(["0", "1", "2"], n).astype(object)
    level = np.where(rng.random(n) < 0.2, arm, rng.choice(list("wxyz"), n)).astype(object)
    expected, degrees = 0.0, 0
    for name in "abc":
        rows = cell == name
        found = chi2_contingency(pd.crosstab(arm[rows], level[rows]).to_numpy(), correction=False)
        expected, degrees = expected + found[0] * (rows.sum() - 1) / rows.sum(), degrees + found[2]
    statistic, dof, p = _within(arm, level, cell)
    assert statistic == pytest.approx(expected) and dof == degrees == 3 * 2 * 6 and p < 1e-10
    # many small cells of a randomised arm: no dependence read (Pearson's own: p = 2e-9)
    small = [
        _within(*(rng.integers(0, k, 30000).astype(str).astype(object) for k in (2, 5, 2000)))[2]
        for _ in range(5)
    ]
    assert min(small) > 1e-3
