import math

import pandas as pd
import pytest

from trialsynth.categories import CATEGORIES, RULES, RULES_VERSION, categorise

DETAILED = {
    "min_nn_distance": 2.0,
    "feature_density_mad": 0.03,
    "corr_msd": 0.001,
    "corr_ratio_msd": 0.001,
    "pmse_ratio": 3.0,
    "precision_diff": 0.0,
    "recall_diff": -0.02,
    "f1_diff": 0.01,
}


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, "multivariate_detailed"),
        # the study's Magic Breakfast CART figures (Table 6 pre-tuned): detailed
        ({"feature_density_mad": 0.01, "corr_msd": 0.0, "corr_ratio_msd": 0.0}, "multivariate_detailed"),
        (
            {
                "feature_density_mad": 0.005,
                "corr_msd": 0.0001,
                "corr_ratio_msd": 0.0001,
                "pmse_ratio": 1.1,
                "recall_diff": 0.0,
                "min_nn_distance": 0.0,
            },
            "replica",
        ),
        # every relationship kept but no real record on a synthetic one: not a replica
        (
            {
                "feature_density_mad": 0.005,
                "corr_msd": 0.0001,
                "corr_ratio_msd": 0.0001,
                "pmse_ratio": 1.1,
                "recall_diff": 0.0,
                "min_nn_distance": 3.4,
            },
            "multivariate_detailed",
        ),
        ({"precision_diff": -0.08}, "multivariate_plausible"),
        ({"corr_msd": 0.01}, "multivariate_plausible"),
        ({"corr_msd": 0.05}, "plausible"),
        ({"feature_density_mad": 0.2}, "valid"),
        ({"corr_ratio_msd": math.nan}, "multivariate_detailed"),
    ],
)
def test_categorise(changes, expected):
    assert categorise({**DETAILED, **changes}) == expected


def test_format_not_preserved_is_structural():
    assert categorise(DETAILED, format_preserved=False) == "structural"


def test_rules_are_versioned_data_over_known_categories():
    assert RULES_VERSION
    assert all(category in CATEGORIES for category, _ in RULES)


def test_format_checks_school_labels_by_name_only():
    from trialsynth.metrics.evaluate import format_preserved

    real = pd.DataFrame({"school": [101, 102], "y": [1.0, 2.0]})
    synthetic = pd.DataFrame({"school": ["school-001", "school-002"], "y": [1.5, 2.5]})
    assert format_preserved(real, synthetic, labels=("school",))
    assert not format_preserved(real, synthetic)  # any other column turned to text is caught
    assert not format_preserved(real, synthetic.assign(y=["a", "b"]), labels=("school",))
