"""The school outputs an output checker lets out: school sizes (grouped, rounded), the arm of each
released school when the trial was randomised by school, and the primary outcome's intraclass
correlation by school - the variance component a multilevel analysis of the trial reports.

- **sizes**: a school with fewer than ``min_cell_count`` pupils is not released on its own (such
  schools are one pooled entry), and sizes are released per group of at least ``school_group``
  schools alike in size (each given its group's mean size, rounded to base 5): no released size
  is one school's own;
- **arms**: where every school's randomised pupils share one arm, the sizes are grouped within
  each arm and each released school carries its arm, so a file drawn from the outputs keeps
  whole schools in one arm; released only when every arm releases ``school_group`` sizes
  after small schools are pooled (no group is one school's own size);
- **ICC**: the one-way ANOVA ICC of the primary outcome (a binary outcome as 0/1), rounded to
  ``icc_decimals`` and at least 0, released only from ``min_schools_icc`` schools (a variance
  component over that many schools says nothing about one pupil or one school).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from trialsynth.data.schools import icc_of, school_key
from trialsynth.meta import TrialMeta
from trialsynth.missing import plain
from trialsynth.outputs.released import VariableOutput
from trialsynth.outputs.rules import ClearanceRules, Recorder, round_counts


@dataclass(frozen=True)
class ClearedSchools:
    sizes: tuple[int, ...] = ()
    arms: tuple = ()  # each released school's arm (school-randomised trials), else empty
    icc: float | None = None  # the primary outcome's ICC by school, as released
    icc_outcome: str | None = None


def clear_schools(
    data: pd.DataFrame,
    cleared: pd.DataFrame,
    variables: dict[str, VariableOutput],
    meta: TrialMeta,
    rules: ClearanceRules,
    record: Recorder,
) -> ClearedSchools:
    """The school outputs of one cleaned trial (``cleared``: its columns as released)."""
    if not meta.cluster:
        return ClearedSchools()
    schools = data[meta.cluster].map(school_key)
    arm_of = _school_arms(schools, data[meta.treatment])
    sizes, arms = _sizes_by_arm(schools, arm_of, rules, record)
    outcome = meta.primary_outcome
    y = _as_numbers(cleared[outcome], variables[outcome])
    present = ~np.isnan(y)
    codes = pd.factorize(schools[present])[0]
    n_schools = len(np.unique(codes))
    value = icc_of(y[present], codes) if n_schools >= rules.min_schools_icc else None
    if value is None:
        why = f"not released: fewer than {rules.min_schools_icc} schools, or no variation"
        record.check("variance component", f"ICC of {outcome} by school", why)
        return ClearedSchools(sizes, arms)
    released = max(round(value, rules.icc_decimals), 0.0)
    record.check(
        "variance component",
        f"ICC of {outcome} by school",
        f"released to {rules.icc_decimals} decimals (at least 0) from {n_schools} schools",
        f"ICC of {outcome} by school: {released:.{rules.icc_decimals}f} from {n_schools} schools",
    )
    return ClearedSchools(sizes, arms, released, outcome)


def _as_numbers(column: pd.Series, variable: VariableOutput) -> np.ndarray:
    """An outcome as numbers: a continuous one's values, a categorical one's level index (0/1 for
    a binary outcome, as the analysis codes it); missing as NaN."""
    if variable.kind == "continuous":
        return column.to_numpy(dtype=float, na_value=np.nan)
    index = {plain(level): i for i, level in enumerate(variable.category_levels)}
    return np.array([np.nan if pd.isna(v) else index.get(plain(v), np.nan) for v in column], dtype=float)


def _school_arms(schools: pd.Series, treatment: pd.Series) -> dict[str, object] | None:
    """Each school's arm when every school's randomised pupils share one arm, else None."""
    assigned = treatment.notna()
    per_school = treatment[assigned].groupby(schools[assigned]).agg(["nunique", "first"])
    if per_school.empty or (per_school["nunique"] > 1).any() or per_school["first"].nunique() < 2:
        return None
    return {school: plain(arm) for school, arm in per_school["first"].items()}


def _sizes_by_arm(
    schools: pd.Series, arm_of: dict[str, object] | None, rules: ClearanceRules, record: Recorder
) -> tuple[tuple[int, ...], tuple]:
    counts = schools.value_counts()
    if arm_of is not None:
        by_arm: dict[object, list[float]] = {}
        for school, size in counts.items():
            by_arm.setdefault(arm_of.get(str(school)), []).append(float(size))
        if None not in by_arm and all(_entries(s, rules) >= rules.school_group for s in by_arm.values()):
            sizes, arms = [], []
            for arm, group in by_arm.items():
                released = _grouped_sizes(np.array(group), rules, record, f" in arm {arm}")
                sizes += released
                arms += [arm] * len(released)
            record.note("schools randomised whole: each released school carries its arm")
            return tuple(sizes), tuple(arms)
        why = f"not released: an arm with under {rules.school_group} schools"
        record.check("threshold", "school arms", why)
    return tuple(_grouped_sizes(counts.to_numpy(dtype=float), rules, record, "")), ()


def _entries(sizes: list[float], rules: ClearanceRules) -> int:
    """How many sizes an arm's schools release: those of the minimum cell, and the pooled entry
    of the smaller ones when it reaches the minimum cell itself."""
    small = [s for s in sizes if s < rules.min_cell_count]
    return len(sizes) - len(small) + (sum(small) >= rules.min_cell_count)


def _grouped_sizes(sizes: np.ndarray, rules: ClearanceRules, record: Recorder, where: str) -> list[int]:
    """School sizes as released: schools under the minimum cell pooled into one entry, then
    schools in order of size grouped by ``school_group`` (the last group takes the remainder)
    and each given its group's mean size, rounded to base 5 (at least the minimum cell)."""
    sizes = np.sort(sizes)[::-1]
    small = sizes[sizes < rules.min_cell_count]
    sizes = sizes[sizes >= rules.min_cell_count]
    if len(small):
        record.check(
            "threshold",
            f"school sizes{where}",
            f"{len(small)} schools under {rules.min_cell_count} pupils released as one pooled entry",
        )
        if small.sum() >= rules.min_cell_count:
            sizes = np.sort(np.append(sizes, small.sum()))[::-1]
    groups = max(len(sizes) // rules.school_group, 1)
    released = (
        np.concatenate([np.full(len(g), g.mean()) for g in np.array_split(sizes, groups)])
        if len(sizes)
        else sizes
    )
    record.check(
        "threshold",
        f"school sizes{where}",
        f"each school's size released as the mean of its group of at least "
        f"{min(rules.school_group, len(sizes))} schools alike in size, rounded to base "
        f"{rules.count_rounding_base}",
    )
    rounded = np.maximum(round_counts(released, rules), rules.min_cell_count)
    return [int(s) for s in rounded]
