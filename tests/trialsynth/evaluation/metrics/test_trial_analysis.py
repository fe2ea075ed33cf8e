"""The trial's own analysis and the ladder of known synthesisers: every metric built to see a
fault sees it, and the category orders the rungs."""

import numpy as np
import pandas as pd
import pytest

from trialsynth.data.cleaning import clean
from trialsynth.data.surrogate import TrialShape, demo_roles, make_trial
from trialsynth.evaluation.metrics.trial_analysis import ci_overlap, icc, primary_analysis, trial_analysis
from trialsynth.plan import Roles


@pytest.fixture(scope="module")
def trial():
    frame = make_trial(TrialShape(2400, 16), 11)
    return clean(frame, Roles.of(**demo_roles(frame)), trial_id="t")


def test_ci_overlap_is_karrs_measure():
    assert ci_overlap((1.0, 0.5), (1.0, 0.5)) == pytest.approx(1.0)
    assert ci_overlap((0.0, 1.0), (1.959963984540054, 1.0)) == pytest.approx(0.5)  # half of each
    assert ci_overlap((0.0, 0.1), (5.0, 0.1)) == -1.0  # disjoint, far apart: floored


def test_the_real_file_replicates_itself_and_a_permuted_arm_does_not(trial):
    data, meta = trial
    same, detail = trial_analysis(data, data.copy(), meta)
    assert same["effect_ci_overlap"] == pytest.approx(1.0) and same["effect_std_diff"] == pytest.approx(0.0)
    assert same["effect_sign_agreement"] == 1.0 and same["icc_real"] == same["icc_synthetic"]
    assert detail["covariates"] == ["pre_test_1"] and detail["standard_errors"] == "cluster"
    permuted = data.copy()
    permuted[meta.treatment] = np.random.default_rng(0).permutation(permuted[meta.treatment].to_numpy())
    erased, _ = trial_analysis(data, permuted, meta)
    assert erased["effect_ci_overlap"] < 0 and erased["effect_sign_agreement"] == 0.0


def test_an_arm_missing_from_the_synthetic_file_fails_its_contrast(trial):
    data, meta = trial
    reference = meta.reference_arm
    one_arm = data.assign(**{meta.treatment: reference})
    metrics, _ = trial_analysis(data, one_arm, meta)
    assert metrics["effect_ci_overlap"] == -1.0 and metrics["effect_std_diff"] is None
    assert metrics["effect_sign_agreement"] == 0.0


def test_the_effect_matches_statsmodels_ols_with_school_clustered_errors(trial):
    import statsmodels.formula.api as smf

    data, meta = trial
    fit = primary_analysis(data, meta, ["pre_test_1"])
    frame = data.dropna(subset=[meta.primary_outcome, "pre_test_1", meta.treatment])
    reference = smf.ols(f"{meta.primary_outcome} ~ C({meta.treatment}) + pre_test_1", frame).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(frame[meta.cluster])[0]}
    )
    (arm, (estimate, se, _)), *_ = fit.items()
    assert estimate == pytest.approx(reference.params.iloc[1]) and se == pytest.approx(reference.bse.iloc[1])


def test_icc_sees_schools_and_their_absence(trial):
    data, meta = trial
    assert 0.03 < icc(data, meta.primary_outcome, meta.cluster) < 0.4
    shuffled = data.assign(
        **{meta.cluster: np.random.default_rng(1).permutation(data[meta.cluster].to_numpy())}
    )
    assert abs(icc(shuffled, meta.primary_outcome, meta.cluster)) < 0.02


def test_the_ladder_orders_known_synthesisers():
    """CART on the real half against known-bad files: each bad file is worse than CART on the
    metric built to see it, and placed lower; the exact copy tops fidelity and is caught by the
    privacy measures."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[4] / "bench"))
    from ladder import ladder

    from trialsynth.evaluation.categories import CATEGORIES

    results = {name: (category, metrics) for name, category, metrics, _ in ladder(3000, 16, 3)}
    rank = {name: CATEGORIES.index(category) for name, (category, _) in results.items()}
    cart = results["cart"][1]
    sees = {
        "treatment-permuted": ("effect_ci_overlap", lambda bad: bad < cart["effect_ci_overlap"]),
        "outcome-destroyed": ("corr_msd", lambda bad: bad > cart["corr_msd"]),
        "independent": ("corr_msd", lambda bad: bad > cart["corr_msd"]),
        "uniform-noise ": ("pmse_standardised", lambda bad: bad > cart["pmse_standardised"] + 10),
        "uniform-noise": ("feature_density_mad", lambda bad: bad > cart["feature_density_mad"]),
    }
    for name, (key, worse) in sees.items():
        name = name.strip()  # a rung may be seen by more than one metric
        assert worse(results[name][1][key]), (name, key)
        assert rank[name] < rank["cart"], name
    assert results["treatment-permuted"][0] != "multivariate_detailed"
    copy = results["exact-copy"][1]
    assert (
        copy["min_nn_distance"] == 0
        and copy["sample_overlap"] == 1.0
        and results["exact-copy"][0] == "replica"
    )
    assert rank["split-half"] >= rank["cart"]


def test_pupils_without_a_school_are_analysed_not_a_crash(trial):
    """Real files have pupils with no school recorded (pandas 3 keeps them missing through
    astype(str)): they form a group of their own for the clustered errors."""
    data, meta = trial
    gaps = data.copy()
    gaps[meta.cluster] = gaps[meta.cluster].astype("string")
    gaps.loc[gaps.index[:50], meta.cluster] = pd.NA
    metrics, _ = trial_analysis(gaps, gaps.copy(), meta)
    assert metrics["effect_ci_overlap"] == pytest.approx(1.0) and metrics["icc_real"] is not None


def test_a_synthetic_file_without_any_school_id_is_described_not_a_crash(trial):
    """A DP release may draw no school id at all (none passed its domain's level selection)."""
    data, meta = trial
    synthetic = data.assign(**{meta.cluster: pd.Series(pd.NA, index=data.index, dtype="string")})
    _, detail = trial_analysis(data, synthetic, meta)
    assert detail["schools"]["synthetic"] == {"schools": 0, "q1": None, "median": None, "q3": None}


def test_a_binary_outcome_held_as_text_is_analysed_as_an_indicator(trial):
    data, meta = trial
    import dataclasses

    text = data.assign(
        passed=np.where(data[meta.primary_outcome] > data[meta.primary_outcome].median(), "yes", "no")
    )
    kinds = {**meta.kinds, "passed": "binary"}
    binary = dataclasses.replace(meta, kinds=kinds, outcomes=("passed", *meta.outcomes))
    metrics, detail = trial_analysis(text, text.copy(), binary)
    assert detail["outcome_coded"] == "1 = 'yes', 0 = 'no'" and metrics["effect_ci_overlap"] == pytest.approx(
        1.0
    )
