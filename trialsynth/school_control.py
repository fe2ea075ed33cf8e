"""School-level disclosure control: no synthetic school may point at one real school.

A school-level column (one value per school: its context, its region) is a quasi-identifier of
the school, and so is its size. A synthesiser fitted on the rows learns each school's values and
size, and a synthetic school carrying them points at that school: its rows then describe that
school's pupils. Before a non-private method is fitted on rows:

1. schools are put in groups of at least ``SCHOOL_GROUP`` schools of one arm (a
   cluster-randomised trial's arm is kept), ordered by their school-level measurements and
   size (the first principal component of the standardised values, log size included), so a
   group holds schools alike;
2. each school-level measurement is replaced by its group's mean (at the column's precision)
   and each school-level category by its group's most common one (univariate microaggregation
   per group, the standard SDC method; Defays and Anwar 1998, Domingo-Ferrer and Mateo-Sanz
   2002): every school's school-level values are then shared by its whole group.

After sampling, the synthetic schools of one profile (the same school-level values, i.e. one
group) are brought to equal sizes by moving randomly chosen pupils from the larger to the
smaller schools of that profile (``equalise_sizes``), so size no longer tells a group's schools
apart either. Schools under the minimum cell (``SMALL_SCHOOL`` pupils) are pooled into one label
by the synthesiser (``synthesisers.clusters``). What was done is recorded, never a school's values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from trialsynth.meta import TrialMeta
from trialsynth.metrics.schools import fitting, school_level_columns, windows

SCHOOL_GROUP = 5  # schools per group at least (k of k-anonymity for schools)
SMALL_SCHOOL = 10  # pupils: schools below pool into one label (the minimum cell of every output)


@dataclass(frozen=True)
class SchoolControl:
    """What the control did (counts and column names only)."""

    columns: tuple[str, ...] = ()
    groups: int = 0
    schools: int = 0
    moved_rows: int = 0
    nudged: int = 0  # groups whose values were moved off the one real school they fitted

    @property
    def applied(self) -> bool:
        return bool(self.columns)

    def with_moved(self, moved: int) -> SchoolControl:
        return SchoolControl(self.columns, self.groups, self.schools, moved, self.nudged)

    def record(self) -> dict[str, Any]:
        return {
            "lineage": {
                "school_control": {
                    "rule": "school-groups-v1",
                    "group_size": SCHOOL_GROUP,
                    "small_school": SMALL_SCHOOL,
                    "columns": list(self.columns),
                    "groups": self.groups,
                    "schools": self.schools,
                    "rows_moved_to_equalise_sizes": self.moved_rows,
                    "groups_moved_off_one_school": self.nudged,
                }
            }
        }


def group_schools(data: pd.DataFrame, meta: TrialMeta) -> tuple[pd.DataFrame, SchoolControl]:
    """``data`` with its school-level values replaced by their group's (see the module)."""
    columns = school_level_columns(data, meta) if meta.cluster else []
    if not columns or meta.cluster is None:
        return data, SchoolControl()
    cluster = meta.cluster
    schools = data.groupby(cluster, dropna=False, sort=True)
    first = schools[columns].first()
    sizes = schools.size()
    arm = meta.treatment if meta.treatment in columns else None
    coarsened = [c for c in columns if c != arm]
    if not coarsened:
        return data, SchoolControl()
    order = _order(first, sizes, coarsened, meta)
    group = pd.Series(-1, index=first.index)
    next_id = 0
    arms = first[arm].astype(str) if arm else pd.Series("", index=first.index)
    for _, members in order.groupby(arms.reindex(order.index).to_numpy(), sort=True):
        ids = list(members.index)
        count = max(len(ids) // SCHOOL_GROUP, 1)
        for chunk in np.array_split(np.arange(len(ids)), count):
            group.loc[[ids[i] for i in chunk]] = next_id
            next_id += 1
    replaced = first[coarsened].copy()
    for name in coarsened:
        values = first[name]
        if meta.kinds.get(name) == "continuous" and pd.api.types.is_numeric_dtype(values):
            means = values.astype(float).groupby(group).transform("mean")
            replaced[name] = means.round(_decimals(values)).astype(values.dtype, errors="ignore")
        else:
            replaced[name] = values.groupby(group).transform(lambda v: v.mode(dropna=False).iloc[0])
    replaced, nudged = _away_from_single_schools(first, replaced, group, data, meta)
    out = data.copy()
    keys = data[cluster]
    for name in coarsened:
        out[name] = keys.map(replaced[name]).astype(data[name].dtype, errors="ignore")
    return out, SchoolControl(tuple(coarsened), int(group.nunique()), len(first), nudged=nudged)


def _away_from_single_schools(
    first: pd.DataFrame, replaced: pd.DataFrame, group: pd.Series, data: pd.DataFrame, meta: TrialMeta
) -> tuple[pd.DataFrame, int]:
    """A group's values that fit exactly one real school (``metrics.schools``: equal, or within
    the window on each measurement) point at it although the group shares them: such a group's
    measurement is moved just outside that school's window - inside the group's own range of
    values where it can be, else inside the column's range - to the first value at which the
    profile fits no single school. Returns the values and how many groups moved."""
    window = windows(data, first, meta)
    profile = first.copy()
    for name in replaced.columns:
        profile[name] = replaced[name]
    per_group = profile.groupby(group).first()
    fits = fitting(first, per_group, window)
    nudged = 0
    for row in np.flatnonzero(fits.sum(axis=1) == 1):
        label = per_group.index[row]
        school = first.iloc[int(np.argmax(fits[row]))]
        members = first.loc[group == label]
        candidates = []
        for name, width in window.items():
            if width is None or name not in replaced.columns:
                continue
            for value in (float(school[name]) + 1.01 * width, float(school[name]) - 1.01 * width):
                inside = float(members[name].min()) <= value <= float(members[name].max())
                possible = float(first[name].min()) <= value <= float(first[name].max())
                if possible:
                    candidates.append((not inside, name, round(value, _decimals(first[name]))))
        for _, name, value in sorted(candidates, key=lambda c: c[0]):
            trial = per_group.iloc[[row]].copy()
            trial[name] = value
            if fitting(first, trial, window).sum() != 1:
                replaced.loc[group == label, name] = value
                nudged += 1
                break
    return replaced, nudged


def _order(first: pd.DataFrame, sizes: pd.Series, columns: list[str], meta: TrialMeta) -> pd.Series:
    """Schools ordered along the first principal component of their standardised school-level
    measurements and log size (category codes as numbers)."""
    parts = [np.log(sizes.to_numpy(dtype=float))]
    for name in columns:
        values = first[name]
        if pd.api.types.is_numeric_dtype(values):
            parts.append(values.astype(float).fillna(values.astype(float).mean()).to_numpy())
        else:
            parts.append(pd.factorize(values.astype(str), sort=True)[0].astype(float))
    x = np.column_stack(parts)
    x = (x - x.mean(axis=0)) / np.where(x.std(axis=0) > 0, x.std(axis=0), 1.0)
    if len(x) > 1:
        _, _, vt = np.linalg.svd(x, full_matrices=False)
        score = x @ vt[0]
    else:
        score = np.zeros(len(x))
    return pd.Series(score, index=first.index).sort_values(kind="stable")


def _decimals(values: pd.Series, limit: int = 6) -> int:
    present = values.dropna().to_numpy(dtype=float)[:5000]
    for places in range(limit + 1):
        if np.allclose(present, np.round(present, places), rtol=0, atol=1e-9):
            return places
    return limit


def equalise_sizes(
    synthetic: pd.DataFrame, meta: TrialMeta, control: SchoolControl, rng: np.random.Generator
) -> tuple[pd.DataFrame, int]:
    """Synthetic schools of one profile (the modal school-level values of their rows) brought
    to equal sizes (within one pupil) by moving random pupils from larger to smaller schools of
    that profile; returns the file and how many rows moved."""
    cluster = meta.cluster
    columns = [c for c in control.columns if c in synthetic.columns]
    if not columns or cluster is None or cluster not in synthetic.columns:
        return synthetic, 0
    frame = synthetic.reset_index(drop=True)
    labels = frame[cluster].to_numpy(dtype=object).copy()
    modal = frame.groupby(cluster, dropna=False, sort=True)[columns].agg(
        lambda c: c.mode(dropna=False).iloc[0]
    )
    profile = modal.astype(str).agg("|".join, axis=1)
    moved = 0
    for _, schools in profile.groupby(profile.to_numpy(), sort=True):
        if len(schools) < 2:
            continue
        members = frame.index[frame[cluster].isin(schools.index)]
        counts = frame.loc[members, cluster].value_counts()
        total, k = int(counts.sum()), len(counts)
        target = pd.Series(total // k, index=counts.index)
        target.iloc[: total % k] += 1  # the largest schools keep the spare pupils
        surplus: list[int] = []
        for school, count in counts.items():
            if count > target[school]:
                mine = members[frame.loc[members, cluster].to_numpy() == school]
                surplus.extend(rng.choice(mine, int(count - target[school]), replace=False).tolist())
        rng.shuffle(surplus)
        start = 0
        for school, count in counts.items():
            need = int(target[school] - count)
            if need > 0:
                labels[surplus[start : start + need]] = school
                start += need
        moved += start
    out = frame.copy()
    out[cluster] = pd.Series(labels, index=frame.index).astype(frame[cluster].dtype, errors="ignore")
    return out, moved
