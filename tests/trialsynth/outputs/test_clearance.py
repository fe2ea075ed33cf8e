"""Output clearance: the disclosure rules hold and the released models are the trial's own."""

import numpy as np
import pandas as pd
import pytest

from trialsynth.errors import TrialDataError
from trialsynth.meta import TrialMeta
from trialsynth.outputs import ClearanceRules, clear_outputs
from trialsynth.outputs.regression import refit


def _trial(n=600, seed=0):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "treatment": rng.integers(0, 2, n),
            "group": rng.choice(["a", "b", "c", "rare"], n, p=[0.5, 0.3, 0.19, 0.01]),
            "score": np.round(rng.normal(100, 15, n), 1),
            "school": rng.integers(0, 12, n),
        }
    )
    frame.loc[:40, "score"] = np.nan
    eta = -0.3 + 0.5 * frame["treatment"] + 0.01 * (frame["score"].fillna(100) - 100)
    frame["passed"] = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(int)
    meta = TrialMeta(
        kinds={
            "treatment": "binary",
            "group": "categorical",
            "score": "continuous",
            "school": "categorical",
            "passed": "binary",
        },
        treatment="treatment",
        outcomes=("passed",),
        cluster="school",
    )
    return frame, meta


def test_rare_category_is_pooled_into_the_modal_one():
    frame, meta = _trial()
    out = clear_outputs(frame, meta)
    group = out.variable("group")
    assert group.levels == ("a", "b", "c")
    assert any("group: 1 categories under 10 rows pooled" in line for line in out.log)


def test_every_released_cell_has_the_minimum_count_and_rounded_proportions():
    frame, meta = _trial()
    rules = ClearanceRules()
    out = clear_outputs(frame, meta, rules=rules)
    score = out.variable("score")
    values = frame["score"].clip(score.edges[0], score.edges[-1]).dropna()
    counts, _ = np.histogram(values, bins=score.edges)
    assert counts.min() >= rules.min_cell_count
    assert score.has_missing and len(score.proportions) == len(score.edges)  # bins + missing
    assert sum(score.proportions) == pytest.approx(1.0)
    pooled = frame["group"].replace("rare", "a").value_counts().sort_index().to_numpy()
    rounded = np.round(pooled / 5) * 5  # proportions come from counts rounded to base 5
    assert np.allclose(out.variable("group").proportions, rounded / rounded.sum())


def test_histogram_uses_public_bounds_else_trimmed_rounded_quantiles():
    frame, meta = _trial()
    frame.loc[100, "score"] = 400.0  # one extreme pupil
    out = clear_outputs(frame, meta)
    low, high = out.variable("score").edges[0], out.variable("score").edges[-1]
    assert high < 400  # the extreme value is not published
    bounded = clear_outputs(frame, meta, bounds={"score": (0.0, 200.0)})
    assert bounded.variable("score").edges[0] == 0.0 and bounded.variable("score").edges[-1] == 200.0
    assert "public bounds" in " ".join(bounded.log) and low < 100 < high


def test_released_model_is_the_trials_logistic_regression_rounded():
    frame, meta = _trial(n=4000)
    out = clear_outputs(frame, meta)
    (model,) = out.models
    assert model.family == "logistic" and model.outcome == "passed" and model.event == 1
    assert model.terms[:2] == ("(Intercept)", "treatment_1")
    assert "score" in model.terms and "score_missing" in model.terms and "group_b" in model.terms
    assert abs(model.as_dict()["treatment_1"] - 0.5) < 0.2
    assert all(round(c, 4) == c for c in model.coefficients)
    assert all(se > 0 for se in model.standard_errors)
    assert out.cluster == "school" and all(size % 5 == 0 for size in out.cluster_sizes)
    assert "school" not in out.names  # the school id is never released as a variable


def test_model_without_enough_residual_degrees_of_freedom_is_withheld():
    frame, meta = _trial(n=600)
    with pytest.raises(TrialDataError, match="no analysis model could be cleared"):
        clear_outputs(frame, meta, rules=ClearanceRules(min_residual_df=10_000))


def test_categorical_outcome_with_many_levels_is_withheld_with_a_reason():
    frame, meta = _trial()
    meta = TrialMeta(kinds=meta.kinds, treatment="treatment", outcomes=("passed", "group"), cluster="school")
    out = clear_outputs(frame, meta)
    assert [m.outcome for m in out.models] == ["passed"]
    assert any("model for group: withheld" in line for line in out.log)


def _rules_fired(out, rule):
    return [c for c in out.clearance if c["rule"] == rule]


def test_a_model_row_count_is_rounded_so_it_cannot_be_differenced():
    frame, meta = _trial()
    frame.loc[:16, "passed"] = np.nan  # 17 outcomes missing: n_rows - n would give 17 exactly
    out = clear_outputs(frame, meta)
    (model,) = out.models
    assert model.n % 5 == 0
    assert _rules_fired(out, "differencing")


def test_a_dominated_mean_is_not_released_and_the_rule_is_named():
    frame, meta = _trial()
    frame["score"] = 1.0
    frame.loc[:8, "score"] = np.nan  # under the minimum cell: filled with the released "mean"
    frame.loc[20, "score"] = 1e9  # one pupil holds almost all of the total
    out = clear_outputs(frame, meta, bounds={"score": (0, 2e9)})
    fired = _rules_fired(out, "dominance")
    assert fired and fired[0]["where"] == "score: mean"
    dominated = float(f"{frame['score'].mean():.3g}")
    assert out.variable("score").fill != dominated  # the public bin's midpoint instead
    assert not _rules_fired(clear_outputs(*_trial()), "dominance")


def test_class_disclosure_pools_the_category_and_the_model_is_released():
    frame, meta = _trial()
    frame.loc[frame["group"] == "c", "passed"] = 1  # every pupil of group c passed
    out = clear_outputs(frame, meta)
    (model,) = out.models
    assert "group" in model.predictors and "group_c" not in model.terms
    assert "c" not in out.variable("group").levels  # pooled into the modal category, a
    (fired,) = _rules_fired(out, "model clearance")
    assert fired["where"] == "group: categories" and "pooled into the modal one" in fired["action"]
    assert not _rules_fired(out, "class disclosure")  # the remedy does not say why
    assert not any("= c" in line or "'c'" in line for line in out.log)  # no line makes the disclosure


def test_a_covariate_that_cannot_be_pooled_leaves_the_model():
    frame, meta = _trial()
    frame["flag"] = np.where(frame.index % 7 == 0, "yes", "no")
    meta = TrialMeta(
        kinds={**meta.kinds, "flag": "binary"}, treatment="treatment", outcomes=("passed",), cluster="school"
    )
    frame.loc[frame["flag"] == "yes", "passed"] = 0  # two categories: pooling would leave one
    out = clear_outputs(frame, meta)
    (model,) = out.models
    assert "flag" not in model.predictors and out.variable("flag").levels == ("no", "yes")
    (fired,) = _rules_fired(out, "model clearance")
    assert fired["where"] == "model for passed" and "flag left out" in fired["action"]


def test_class_disclosure_in_the_treatment_arms_withholds_the_model():
    frame, meta = _trial()
    frame.loc[frame["treatment"] == 1, "passed"] = 1  # every treated pupil passed
    with pytest.raises(TrialDataError, match="class disclosure: a category of treatment") as info:
        clear_outputs(frame, meta)
    assert "= 1" not in str(info.value)  # the message does not make the disclosure itself


def test_a_saturated_model_with_a_small_pattern_is_withheld():
    """Three covariate patterns for three coefficients (no control pupil in group b): the fit
    gives back each pattern's mean, one of them over 6 pupils."""
    rng = np.random.default_rng(3)
    treatment = np.repeat([0, 1, 1], [150, 6, 150])
    group = np.repeat(["a", "a", "b"], [150, 6, 150])
    frame = pd.DataFrame({"treatment": treatment, "group": group, "y": rng.normal(size=306).round(2)})
    meta = TrialMeta(
        kinds={"treatment": "binary", "group": "categorical", "y": "continuous"},
        treatment="treatment",
        outcomes=("y",),
    )
    with pytest.raises(TrialDataError, match="saturated") as info:
        clear_outputs(frame, meta)
    assert "one of them under 10 rows" in str(info.value) and " 6 " not in str(info.value)


def test_school_sizes_pool_small_schools_and_never_release_one_schools_size():
    rng = np.random.default_rng(4)
    sizes = np.concatenate([[3, 4, 6], rng.integers(15, 90, 27)])  # three schools under 10 pupils
    frame, meta = _trial(n=int(sizes.sum()))
    frame["school"] = np.repeat(np.arange(len(sizes)), sizes)
    out = clear_outputs(frame, meta)
    released = np.array(out.cluster_sizes)
    assert released.min() >= 10 and len(released) == 28  # 27 schools and one pooled entry
    assert all(np.sum(released == size) >= 5 for size in np.unique(released))
    assert any("under 10 pupils" in c["action"] for c in _rules_fired(out, "threshold"))


def test_models_are_fitted_on_the_randomised_pupils_and_those_of_one_outcome_do_not_fail_the_trial():
    frame, meta = _trial()
    frame["group"] = frame["group"].replace("rare", "a")  # no pooling: the real file refits as is
    frame["treatment"] = frame["treatment"].astype(float)
    unassigned = frame.index[:30]
    frame.loc[unassigned, "treatment"] = np.nan
    frame.loc[unassigned, "passed"] = 1  # every pupil never randomised passed
    out = clear_outputs(frame, meta)
    (model,) = out.models
    assert model.randomised_only and "treatment_NA" not in model.terms
    assert model.n == 570  # the randomised pupils, rounded to base 5
    (fired,) = _rules_fired(out, "analysis population")
    assert "randomised pupils" in fired["action"] and not _rules_fired(out, "class disclosure")
    variables = {v.name: v for v in out.variables}
    assert np.allclose(refit(frame, model, variables), model.coefficients, atol=0.05)  # clipped tails aside


def test_atoms_are_the_common_exact_values_with_rounded_shares():
    frame, meta = _trial()
    rng = np.random.default_rng(7)
    frame["score"] = np.where(
        rng.random(len(frame)) < 0.3, 0.0, np.round(rng.uniform(10, 200, len(frame)), 1)
    )
    frame.loc[:4, "score"] = 123.4  # five pupils share a value: under the minimum cell
    out = clear_outputs(frame, meta, bounds={"score": (0, 200)})
    score = out.variable("score")
    assert score.atoms == (0.0,) and abs(score.atom_shares[0] - 0.3) < 0.05
    assert score.atom_shares[0] * 600 % 5 == pytest.approx(0)  # over the rounded total (600)
    assert any(c["where"] == "score: common values" for c in out.clearance)


def test_a_bin_whose_other_rows_would_be_a_small_cell_keeps_no_atoms():
    frame, meta = _trial()
    frame["score"] = 50.0
    frame.loc[:3, "score"] = 50.2  # four other pupils in the atom's bin: a cell of four
    frame.loc[100:, "score"] = np.round(np.linspace(60, 190, len(frame) - 100), 1)
    out = clear_outputs(frame, meta, bounds={"score": (0, 200)})
    assert 50.0 not in out.variable("score").atoms
