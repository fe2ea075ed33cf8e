"""Output clearance: the disclosure rules hold and the released models are the trial's own."""

import numpy as np
import pandas as pd
import pytest

from trialsynth.errors import TrialDataError
from trialsynth.meta import TrialMeta
from trialsynth.outputs import ClearanceRules, clear_outputs


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
