import math

import pandas as pd
import pytest

from trialsynth.evaluation.categories import CATEGORIES, RULES, RULES_VERSION, categorise

DETAILED = {
    "min_nn_distance": 2.0,
    "feature_density_mad": 0.003,
    "corr_msd": 0.001,
    "corr_ratio_msd": 0.001,
    "pmse_ratio": 2.0,
    "precision_diff": 0.0,
    "recall_diff": -0.02,
    "f1_diff": 0.01,
    "effect_ci_overlap": 0.7,
    "effect_sign_agreement": 1.0,
}


def _just_past(op: str, bound: float) -> float:
    return bound * 1.01 + 1e-9 if op == "<=" else bound - 0.01


@pytest.mark.parametrize(
    ("category", "key", "op", "bound"),
    [(category, *condition) for category, conditions in RULES for condition in conditions],
)
def test_each_threshold_is_enforced(category, key, op, bound):
    """A file that meets every condition of ``category`` except this one, just past its bound,
    is placed lower; at the bound it is placed there."""
    meeting = {k: (b if o == "<=" else b) for k, o, b in dict(RULES)[category]}
    meeting = {
        **{k: 0.0 for k in DETAILED},
        "effect_ci_overlap": 1.0,
        "effect_sign_agreement": 1.0,
        **meeting,
    }
    if category != "replica":
        meeting["min_nn_distance"] = 5.0
    assert categorise(meeting) == category
    rank = CATEGORIES.index(category)
    assert CATEGORIES.index(categorise({**meeting, key: _just_past(op, bound)})) < rank


@pytest.mark.parametrize("key", sorted({k for _, conditions in RULES for k, _, _ in conditions}))
def test_a_missing_metric_fails_every_rule_that_needs_it(key):
    for missing in (None, math.nan):
        replica_only = key in ("min_nn_distance", "exact_match_excess")
        assert categorise({**DETAILED, key: missing}) != "multivariate_detailed" or replica_only
    assert categorise({**DETAILED, key: None}, not_applicable=[key]) in ("multivariate_detailed", "replica")


def test_nothing_measured_is_never_a_high_category():
    assert categorise({}) == "valid"
    assert categorise(dict.fromkeys(DETAILED)) == "valid"
    assert categorise({}, valid=False) == "structural"


def test_an_erased_treatment_effect_or_a_failed_propensity_check_is_not_detailed():
    assert categorise({**DETAILED, "effect_ci_overlap": -2.5, "effect_sign_agreement": 0.0}) == "plausible"
    assert categorise({**DETAILED, "pmse_ratio": 50.0}) == "plausible"
    assert categorise({**DETAILED, "effect_sign_agreement": 0.5}) == "multivariate_plausible"


def test_format_not_preserved_is_structural():
    assert categorise(DETAILED, format_preserved=False) == "structural"


def test_the_rules_are_pinned_to_their_version():
    """Changing a threshold or a metric's definition without a new RULES_VERSION (and its hash in
    PINNED) fails here."""
    import hashlib
    import json

    from trialsynth.evaluation.categories import DEFINITIONS, PINNED, RULES_SHA256

    pinned = json.dumps([RULES, DEFINITIONS], sort_keys=True).encode()
    assert RULES_SHA256 == hashlib.sha256(pinned).hexdigest()
    assert PINNED[RULES_VERSION] == RULES_SHA256
    assert all(category in CATEGORIES for category, _ in RULES)


def test_valid_checks_types_levels_and_missingness():
    from trialsynth.evaluation.categories import valid_problems

    real = pd.DataFrame({"g": ["a", "b", None, "a"], "x": [1.0, 2.0, 3.0, 4.0]})
    assert valid_problems(real, real.copy()) == []
    assert valid_problems(real, real.assign(g=["a", "z", None, "a"])) == [
        "g: 1 categories the real column does not have"
    ]
    assert valid_problems(real, real.assign(x=[None, None, 3.0, 4.0])) == ["x: missing share differs by 0.50"]
    assert valid_problems(real, real.assign(x=["1", "2", "3", "4"])) == ["x: numeric in one file only"]


def test_format_checks_school_labels_by_name_only():
    from trialsynth.evaluation.metrics.evaluate import format_preserved

    real = pd.DataFrame({"school": [101, 102], "y": [1.0, 2.0]})
    synthetic = pd.DataFrame({"school": ["school-001", "school-002"], "y": [1.5, 2.5]})
    assert format_preserved(real, synthetic, labels=("school",))
    assert not format_preserved(real, synthetic)  # any other column turned to text is caught
    assert not format_preserved(real, synthetic.assign(y=["a", "b"]), labels=("school",))


def test_utility_is_bounded_both_ways():
    """A synthetic-trained model far better than the real one on held-out rows is a distortion
    too (a file over-representing the outcome's minority class does that to macro F1)."""
    assert categorise({**DETAILED, "f1_diff": -0.2, "precision_diff": -0.2}) == "multivariate_plausible"
    assert categorise({**DETAILED, "f1_diff": 0.2}) == "multivariate_plausible"


def test_a_replica_is_not_judged_on_utility():
    """Utility is tested on held-out real rows, which a copy of the real data holds."""
    copy = {**DETAILED, "min_nn_distance": 0.0, "feature_density_mad": 0.0, "corr_msd": 0.0}
    copy.update(
        corr_ratio_msd=0.0, pmse_ratio=0.1, effect_ci_overlap=1.0, f1_diff=-0.3, exact_match_excess=0.5
    )
    assert categorise(copy) == "replica"


def test_exact_matches_a_fresh_draw_also_makes_are_not_a_replica():
    """A narrow coded file: every synthetic row equals a real one, as a fresh draw's would."""
    fresh = {**DETAILED, "min_nn_distance": 0.0, "feature_density_mad": 0.0, "corr_msd": 0.0}
    fresh.update(corr_ratio_msd=0.0, pmse_ratio=0.9, effect_ci_overlap=0.95, exact_match_excess=0.003)
    assert categorise(fresh) == "multivariate_detailed"
    assert categorise({**fresh, "exact_match_excess": None}) == "multivariate_detailed"
