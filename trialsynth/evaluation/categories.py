"""This project's operationalisation of the ONS synthetic-data spectrum (study Table 4): measurable
rules over Table 3's metrics and the trial's own analysis, versioned and pinned.

Table 4 describes categories by what is preserved; the rules below are this project's thresholds
for it (not the ONS's own numbers). A file gets the highest category whose every condition holds:

- ``replica``: real records reproduced (minimum nearest-neighbour distance 0) beyond what a fresh
  draw from the same distribution reproduces (``exact_match_excess`` >= 0.25, a copy's is about
  0.5: on a narrow coded file every row is some pupils' and exact matches alone say nothing)
  with every pattern kept - scaled feature MAD <= 0.001, correlations <= 0.0005, pMSE ratio <= 1.5,
  treatment-effect CI overlap >= 0.9. Table 4's replica is de-identified real
  data; the release gate blocks every such file.
- ``multivariate_detailed``: joint distributions and the trial's analysis kept - scaled feature MAD
  <= 0.005, correlation MSD and correlation-ratio MSD <= 0.005, pMSE ratio <= 3, utility
  differences <= 0.05, treatment-effect CI overlap >= 0.5 for every contrast and sign and
  significance agreeing for all of them.
- ``multivariate_plausible``: some relationships - scaled feature MAD <= 0.01, correlation MSD
  <= 0.02, pMSE ratio <= 10, every contrast's intervals overlapping (CI overlap >= 0).
- ``plausible``: univariate distributions - scaled feature MAD <= 0.02.
- ``valid``: types, levels and missingness kept (``valid_problems``), distributions not.
- ``structural``: format only.

A metric a rule needs that is missing (None, NaN) **fails** the rule, unless the evaluation says it
does not apply to the trial (``not_applicable``: e.g. no categorical columns for the correlation
ratio). Thresholds are data; ``RULES_VERSION`` names them and ``RULES_SHA256`` pins them with the
definitions of the metrics they read (``DEFINITIONS``): a changed threshold or definition without a
new version fails ``tests/trialsynth/test_categories.py``. v3 keeps v2's thresholds; its utility
differences are tested on held-out rows and its distances are scaled. v4 reads exact matches
against a fresh draw's (``exact_match_excess``) before calling a file a replica.

A file synthesised from released outputs alone, with no microdata to compare it with, is
``valid`` (``OUTPUTS_ONLY_CATEGORY``).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from trialsynth.data.cleaning import Cleaned
from trialsynth.evaluation.metrics.evaluate import format_preserved
from trialsynth.evaluation.metrics.fidelity import PMSE_BOOTSTRAPS, PROPENSITY_TREE
from trialsynth.evaluation.metrics.utility import MAX_TRAIN_ROWS
from trialsynth.meta import TrialMeta

RULES_VERSION = "trialsynth-ons-v4"  # v4: a replica reproduces records beyond a fresh draw
OUTPUTS_ONLY_CATEGORY = "valid"
CATEGORIES = (
    "structural",
    "valid",
    "plausible",
    "multivariate_plausible",
    "multivariate_detailed",
    "replica",
)
UTILITY = ("precision_diff", "recall_diff", "f1_diff")

# Highest first. A condition is (metric, "<=" | ">=", bound); "<=" bounds the absolute value: a
# synthetic-trained model that scores far *better* than the real one on held-out rows is a
# distortion too (macro F1 rewards a file that over-represents the outcome's minority class).
Condition = tuple[str, str, float]
RULES: tuple[tuple[str, tuple[Condition, ...]], ...] = (
    (
        "replica",
        (
            ("min_nn_distance", "<=", 0.0),
            ("exact_match_excess", ">=", 0.25),
            ("feature_density_mad", "<=", 0.001),
            ("corr_msd", "<=", 0.0005),
            ("corr_ratio_msd", "<=", 0.0005),
            ("pmse_ratio", "<=", 1.5),
            ("effect_ci_overlap", ">=", 0.9),
        ),
    ),
    (
        "multivariate_detailed",
        (
            ("feature_density_mad", "<=", 0.005),
            ("corr_msd", "<=", 0.005),
            ("corr_ratio_msd", "<=", 0.005),
            ("pmse_ratio", "<=", 3.0),
            *((key, "<=", 0.05) for key in UTILITY),
            ("effect_ci_overlap", ">=", 0.5),
            ("effect_sign_agreement", ">=", 1.0),
        ),
    ),
    (
        "multivariate_plausible",
        (
            ("feature_density_mad", "<=", 0.01),
            ("corr_msd", "<=", 0.02),
            ("pmse_ratio", "<=", 10.0),
            ("effect_ci_overlap", ">=", 0.0),
        ),
    ),
    ("plausible", (("feature_density_mad", "<=", 0.02),)),
)
# The definitions of the metrics the rules read, where they are this project's: a rule's meaning
# changes with them, so they are pinned with the thresholds.
DEFINITIONS = {
    "feature_density_mad": "mean |difference of the share of rows| over 10 bins per column",
    "corr_msd": "continuous pairs; an undefined synthetic correlation counts as 0",
    "pmse_ratio": f"CART {PROPENSITY_TREE}; null mean from {PMSE_BOOTSTRAPS} bootstrap draws of real rows",
    "utility": (
        f"SVM on the primary outcome, each model trained on at most {MAX_TRAIN_ROWS} rows, tested on "
        "real rows held out from the synthesiser; |value|"
    ),
    "min_nn_distance": "Euclidean on range-scaled columns, exact over all rows",
    "exact_match_excess": (
        "(s - b) / (1 - b): s the share of synthetic rows equal to a record of a random half of the "
        "real rows, b the share of the other half's rows that are; 0 when b = 1; mean of 5 splits"
    ),
    "effect_ci_overlap": "Karr et al. 2006, smallest over the arm contrasts, floored at -1",
}
RULES_SHA256 = hashlib.sha256(json.dumps([RULES, DEFINITIONS], sort_keys=True).encode()).hexdigest()
# The thresholds each version stands for: a new threshold needs a new version and its hash here.
PINNED = {RULES_VERSION: "09f26924c2c9f66cd19d203643d49b096ed3d2d5a6a3fa1e6af68f3484214875"}

MISSINGNESS_TOLERANCE = 0.05  # valid: each column's missing share within 5 points of the real one


def _holds(
    metrics: Mapping[str, float | None], conditions: Iterable[Condition], not_applicable: frozenset[str]
) -> bool:
    for key, op, bound in conditions:
        if key in not_applicable:
            continue
        value = metrics.get(key)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return False  # a metric the rule needs and cannot read fails it
        if op == "<=" and abs(value) > bound:
            return False
        if op == ">=" and value < bound:
            return False
    return True


def categorise(
    metrics: Mapping[str, float | None],
    *,
    format_preserved: bool = True,
    valid: bool = True,
    not_applicable: Iterable[str] = (),
) -> str:
    """The category for a synthetic file with these metrics (rules ``RULES_VERSION``)."""
    if not format_preserved:
        return "structural"
    skip = frozenset(not_applicable)
    for category, conditions in RULES:
        if _holds(metrics, conditions, skip):
            return category
    return "valid" if valid else "structural"


def failed_conditions(
    metrics: Mapping[str, float | None], category: str, not_applicable: Iterable[str] = ()
) -> list[str]:
    """The conditions of ``category`` a file does not meet, as text (why it is not higher)."""
    skip = frozenset(not_applicable)
    out = []
    for name, conditions in RULES:
        if name != category:
            continue
        for condition in conditions:
            if not _holds(metrics, (condition,), skip):
                key, op, bound = condition
                out.append(f"{key} {op} {bound:g} (is {metrics.get(key)})")
    return out


def rule_table(
    metrics: Mapping[str, float | None], not_applicable: Iterable[str] = ()
) -> list[dict[str, object]]:
    """Every condition of every rule with the file's value and whether it holds (``"n/a"`` when
    the trial has no structure for it): the category's *why*, from the rules themselves."""
    skip = frozenset(not_applicable)
    rows: list[dict[str, object]] = []
    for category, conditions in RULES:
        for key, op, bound in conditions:
            holds: bool | str = "n/a" if key in skip else _holds(metrics, ((key, op, bound),), skip)
            rows.append(
                {
                    "category": category,
                    "metric": key,
                    "op": op,
                    "bound": bound,
                    "value": metrics.get(key),
                    "holds": holds,
                }
            )
    return rows


def valid_problems(real: pd.DataFrame, synthetic: pd.DataFrame, labels: Iterable[str] = ()) -> list[str]:
    """What ``valid`` claims, checked: the same columns, numeric where the real ones are, no
    category the real column lacks, each column's missing share within ``MISSINGNESS_TOLERANCE``
    of the real one. ``labels`` (school labels, new by design) are checked by name only."""
    if list(real.columns) != list(synthetic.columns):
        return ["the columns differ from the real file's"]
    problems = []
    skip = set(labels)
    for name in real.columns:
        if name in skip:
            continue
        r, s = real[name], synthetic[name]
        if pd.api.types.is_numeric_dtype(r) != pd.api.types.is_numeric_dtype(s):
            problems.append(f"{name}: numeric in one file only")
            continue
        if not pd.api.types.is_numeric_dtype(r):
            new = set(s.dropna().astype(str)) - set(r.dropna().astype(str))
            if new:
                problems.append(f"{name}: {len(new)} categories the real column does not have")
        gap = abs(float(s.isna().mean()) - float(r.isna().mean()))
        if gap > MISSINGNESS_TOLERANCE:
            problems.append(f"{name}: missing share differs by {gap:.2f}")
    return problems


def not_applicable(meta: TrialMeta, real: pd.DataFrame) -> list[str]:
    """The metrics a trial has no structure for: the correlation ratio without categorical columns,
    the correlation MSD with fewer than two continuous columns, the treatment-effect checks when
    the primary outcome is categorical (a binary one, text or not, is analysed as 0/1)."""
    columns = [c for c in meta.columns if c != meta.cluster]
    categorical = [
        c for c in columns if meta.kinds[c] == "categorical" or not pd.api.types.is_numeric_dtype(real[c])
    ]
    continuous = [c for c in columns if meta.kinds[c] == "continuous"]
    out = []
    if not categorical:
        out.append("corr_ratio_msd")
    if len(continuous) < 2:
        out.append("corr_msd")
    kind, outcome = meta.kinds.get(meta.primary_outcome), real[meta.primary_outcome]
    if kind == "categorical" or (kind == "continuous" and not pd.api.types.is_numeric_dtype(outcome)):
        out += ["effect_ci_overlap", "effect_sign_agreement"]  # a binary outcome is coded 0/1
    return out


__all__ = [
    "CATEGORIES",
    "OUTPUTS_ONLY_CATEGORY",
    "RULES",
    "RULES_SHA256",
    "RULES_VERSION",
    "categorise",
    "failed_conditions",
    "rule_table",
    "not_applicable",
    "valid_problems",
]


@dataclass(frozen=True)
class Category:
    """A file's place on the spectrum, the rules that placed it, and what failed the next one up."""

    name: str
    rules: str = RULES_VERSION
    why: dict[str, Any] = field(default_factory=dict)

    def record(self) -> dict[str, Any]:
        record: dict[str, Any] = {"ons_category": self.name, "category_rules": self.rules}
        if self.why:
            record["analysis"] = {"category": self.why}
        return record


def categorise_trial(
    metrics: Mapping[str, float | None], cleaned: Cleaned, synthetic: pd.DataFrame
) -> Category:
    """The category from the metrics, with ``valid``'s own checks and the metrics that do not
    apply to this trial; why it is not higher is recorded with it."""
    meta = cleaned.meta
    labels = (meta.cluster,) if meta.cluster else ()
    preserved = format_preserved(cleaned.data, synthetic, labels=labels)
    problems = valid_problems(cleaned.data, synthetic, labels=labels)
    skip = not_applicable(meta, cleaned.data)
    name = categorise(metrics, format_preserved=preserved, valid=not problems, not_applicable=skip)
    above = CATEGORIES[CATEGORIES.index(name) + 1] if name in CATEGORIES[1:-1] else None
    why = {
        "not_applicable": skip,
        "valid_problems": problems,
        "next_category": above,
        "next_category_fails": failed_conditions(metrics, above, skip) if above else [],
    }
    return Category(name, why=why)


def outputs_only_category() -> Category:
    """A file synthesised from released outputs alone: nothing to measure it against."""
    return Category(OUTPUTS_ONLY_CATEGORY)
