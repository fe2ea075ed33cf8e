"""The ONS synthetic-data spectrum (study Table 4) as versioned data plus one pure rule.

Table 4 describes categories by what is preserved. The rules below make that measurable with
Table 3's metrics; a trial gets the highest category whose every threshold holds:

- ``replica``: lower-level patterns preserved - univariate densities (MAD <= 0.01), pairwise
  correlations (corr MSD <= 0.0005, corr-ratio MSD <= 0.0005), joint structure hard to tell
  apart (pMSE ratio <= 1.5), utility differences all <= 0.01, *and* record-level detail: some
  synthetic row sits on a real row (minimum nearest-neighbour distance 0). Table 4 says a
  replica is real data with de-identification applied, usable only in secure facilities; a
  model-based file that keeps every relationship but no record is ``multivariate_detailed``
  (where the study put its CART result). The release gate blocks every replica.
- ``multivariate_detailed``: joint distributions - MAD <= 0.05, corr MSD <= 0.005,
  corr-ratio MSD <= 0.005, |precision/recall/F1 difference| <= 0.05.
- ``multivariate_plausible``: some relationships - MAD <= 0.10, corr MSD <= 0.02.
- ``plausible``: univariate distributions - MAD <= 0.10.
- ``valid``: types, format and missing values kept (checked by the pipeline), distributions not.
- ``structural``: format only (columns or types differ from the real data).

A file synthesised from released outputs alone, with no microdata held to compare it with, is
``valid`` (``OUTPUTS_ONLY_CATEGORY``): its format, types and missing values follow the released
metadata, and no distributional claim can be checked.

The study placed its Magic Breakfast CART result (MAD 0.01-0.03, correlations and utility
differences 0.00) at ``multivariate_detailed``; these thresholds agree with that placement.
A missing metric (NaN, e.g. corr-ratio MSD for a trial without categorical columns) does not
block a category. Change a threshold only by adding a new version: the version is stored with
every catalogue record.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

RULES_VERSION = "ons-2024-v1"
OUTPUTS_ONLY_CATEGORY = "valid"
CATEGORIES = (
    "structural",
    "valid",
    "plausible",
    "multivariate_plausible",
    "multivariate_detailed",
    "replica",
)

# Highest first. Each threshold is an upper bound on the metric (utility diffs by absolute value).
RULES: tuple[tuple[str, Mapping[str, float]], ...] = (
    (
        "replica",
        {
            "feature_density_mad": 0.01,
            "corr_msd": 0.0005,
            "corr_ratio_msd": 0.0005,
            "pmse_ratio": 1.5,
            "precision_diff": 0.01,
            "recall_diff": 0.01,
            "f1_diff": 0.01,
            "min_nn_distance": 0.0,
        },
    ),
    (
        "multivariate_detailed",
        {
            "feature_density_mad": 0.05,
            "corr_msd": 0.005,
            "corr_ratio_msd": 0.005,
            "precision_diff": 0.05,
            "recall_diff": 0.05,
            "f1_diff": 0.05,
        },
    ),
    ("multivariate_plausible", {"feature_density_mad": 0.10, "corr_msd": 0.02}),
    ("plausible", {"feature_density_mad": 0.10}),
)


def _holds(metrics: Mapping[str, float | None], thresholds: Mapping[str, float]) -> bool:
    for key, bound in thresholds.items():
        value = metrics.get(key, float("nan"))
        if value is None or math.isnan(value):
            continue
        if abs(value) > bound:
            return False
    return True


def categorise(metrics: Mapping[str, float | None], *, format_preserved: bool = True) -> str:
    """The ONS category for a synthetic file with these metrics (rules ``RULES_VERSION``)."""
    if not format_preserved:
        return "structural"
    for category, thresholds in RULES:
        if _holds(metrics, thresholds):
            return category
    return "valid"
