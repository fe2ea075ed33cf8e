"""School-level disclosure control: no synthetic school may point at one real school.

A school is identified by its school-level values (its context: FSM share, region), its size
and its pupils' mix (their mean scores). A synthesiser fitted with each school's label learns
all three, and a synthetic school then mirrors one real school - on the 9,900-row demo trial 95%
of CART's synthetic schools fitted exactly one real school on their context alone, and matching
schools on their pupils' means and size found the source of about half of them. So before a
non-private method is fitted on rows:

1. schools are put in groups of at least ``SCHOOL_GROUP`` schools of one arm (a
   cluster-randomised trial's arm is kept), in order along the first principal component of
   their standardised school-level values, pupils' mean values and log size, so a group holds
   schools alike (and the clustering of outcomes survives at group level);
2. each school-level value is replaced by its group's (a measurement: the mean, at the column's
   precision; a category: the most common) - microaggregation, the standard SDC method (Defays
   and Anwar 1998; Domingo-Ferrer and Mateo-Sanz 2002) - and a group whose values still fit
   exactly one real school (``metrics.schools``) is moved just off it;
3. the method is fitted with the *group* in place of the school (a column like any other: no
   synthetic row belongs to a real school), and after sampling each group's synthetic rows are
   dealt at random into as many schools as the group has, of equal sizes (within one pupil), with
   new labels in a random order (``assign_schools``). The schools of a group are then
   exchangeable: context, size and pupil mix are the group's, not any one school's.

An arm with fewer than ``SCHOOL_GROUP`` schools is one group; its school-level values are
replaced by the trial-wide ones (suppressed). What was done is recorded as counts and column
names, never a school's values.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from trialsynth.data.cleaning import Cleaned
from trialsynth.evaluation.holdout import Holdout
from trialsynth.evaluation.metrics.schools import fitting, school_level_columns, windows
from trialsynth.meta import TrialMeta
from trialsynth.synthesisers.base import Synthesiser, capabilities_of, models_schools

SCHOOL_GROUP = 5  # schools per group at least (k of k-anonymity for schools)
RULE = "school-groups-v2"


@dataclass(frozen=True)
class SchoolControl:
    """What the control did, and (in memory only) what it needs to undo the grouping: each
    real school's group and the group values that replaced its own."""

    columns: tuple[str, ...] = ()  # school-level columns whose values were replaced
    groups: int = 0
    schools: int = 0
    nudged: int = 0  # groups whose values were moved off the one real school they fitted
    suppressed: int = 0  # groups of an arm with fewer than SCHOOL_GROUP schools
    group_of: dict = field(default_factory=dict, repr=False)  # real school id -> group id
    schools_in: dict = field(default_factory=dict, repr=False)  # group id -> number of schools
    values: pd.DataFrame | None = field(default=None, repr=False)  # group values per real school
    numeric_ids: bool = False
    # per group and measurement, the (low, high) of its schools' values: dealt schools draw in it
    ranges: dict = field(default_factory=dict, repr=False)
    real_profile: pd.DataFrame | None = field(default=None, repr=False)  # every real school's values
    window: dict = field(default_factory=dict, repr=False)  # metrics.schools.windows of the real data
    decimals: dict = field(default_factory=dict, repr=False)

    @property
    def applied(self) -> bool:
        return bool(self.group_of)

    def fit_meta(self, meta: TrialMeta) -> TrialMeta:
        """The trial's meta for the fit: the cluster column holds groups, a plain category."""
        if not self.applied or meta.cluster is None:
            return meta
        kinds = {**meta.kinds, meta.cluster: "categorical"}
        return dataclasses.replace(meta, kinds=kinds, cluster=None)

    def grouped(self, real: pd.DataFrame, cluster: str | None) -> pd.DataFrame:
        """``real`` with each school's school-level values replaced by its group's (schools not
        in the training rows keep theirs): what the release gate compares synthetic rows with."""
        if not self.applied or self.values is None or cluster is None:
            return real
        out = real.copy()
        for name in self.columns:
            mapped = real[cluster].map(self.values[name])
            out[name] = mapped.where(real[cluster].isin(self.values.index), real[name])
        return out

    def record(self) -> dict[str, Any]:
        if not self.applied:
            return {}
        return {
            "lineage": {
                "school_control": {
                    "rule": RULE,
                    "group_size": SCHOOL_GROUP,
                    "columns": list(self.columns),
                    "groups": self.groups,
                    "schools": self.schools,
                    "groups_moved_off_one_school": self.nudged,
                    "groups_under_group_size": self.suppressed,
                }
            }
        }


def group_schools(data: pd.DataFrame, meta: TrialMeta) -> tuple[pd.DataFrame, SchoolControl]:
    """``data`` with school-level values replaced by their group's and the school column by the
    group (see the module); the control to fit with (``fit_meta``) and to deal schools after."""
    cluster = meta.cluster
    if cluster is None or data[cluster].nunique(dropna=False) < 2:
        return data, SchoolControl()
    columns = school_level_columns(data, meta)
    arm = meta.treatment if meta.treatment in columns else None
    coarsened = [c for c in columns if c != arm]
    schools = data.groupby(cluster, dropna=False, sort=True)
    first = schools[columns].first() if columns else pd.DataFrame(index=schools.size().index)
    sizes = schools.size()
    pupil = [c for c in data.columns if c != cluster and c not in columns]
    means = schools[[c for c in pupil if pd.api.types.is_numeric_dtype(data[c])]].mean()
    primary = means[meta.primary_outcome] if meta.primary_outcome in means else None
    order = _order(first[coarsened], sizes, means, primary)
    arms = first[arm].astype(str) if arm else pd.Series("", index=first.index)
    group, small = _group_labels(order, arms)
    replaced = _group_values(first, group, coarsened, small, meta)
    replaced, nudged = _away_from_single_schools(first, replaced, group, data, meta)
    out = data.copy()
    keys = data[cluster]
    for name in coarsened:
        out[name] = keys.map(replaced[name]).astype(data[name].dtype, errors="ignore")
    out[cluster] = keys.map(group).astype(object)
    control = SchoolControl(
        columns=tuple(coarsened),
        groups=int(group.nunique()),
        schools=len(first),
        nudged=nudged,
        suppressed=len(small),
        group_of=group.to_dict(),
        schools_in=group.value_counts().to_dict(),
        values=replaced,
        numeric_ids=bool(pd.api.types.is_numeric_dtype(data[cluster])),
        ranges=_ranges(first, group, coarsened, meta, small),
        real_profile=first[columns],  # the arm too, when it is school-level: the measure reads it
        window=windows(data, first, meta),
        decimals={name: _decimals(first[name]) for name in coarsened if _is_measurement(first[name], meta)},
    )
    return out, control


def _group_labels(order: pd.DataFrame, arms: pd.Series) -> tuple[pd.Series, list[str]]:
    """Schools in ``order`` dealt into groups of at least ``SCHOOL_GROUP`` within each arm;
    returns each school's group and the groups left smaller (an arm with too few schools)."""
    group = pd.Series("", index=arms.index, dtype=object)
    small: list[str] = []
    count = 0
    for _, members in order.groupby(arms.reindex(order.index).to_numpy(), sort=True):
        ids = list(members.index)
        for chunk in np.array_split(np.arange(len(ids)), max(len(ids) // SCHOOL_GROUP, 1)):
            label = f"group-{count:04d}"
            group.loc[[ids[i] for i in chunk]] = label
            if len(chunk) < SCHOOL_GROUP:
                small.append(label)
            count += 1
    return group, small


def _group_values(
    first: pd.DataFrame, group: pd.Series, coarsened: list[str], small: list[str], meta: TrialMeta
) -> pd.DataFrame:
    """Each school's school-level values replaced by its group's: a measurement's mean, a
    category's mode (the trial's mode where fewer than ``SCHOOL_GROUP`` schools hold it); a
    suppressed group takes the trial-wide value."""
    replaced = first[coarsened].copy()
    for name in coarsened:
        values = first[name]
        by_group = values.groupby(group)
        if meta.kinds.get(name) == "continuous" and pd.api.types.is_numeric_dtype(values):
            replaced[name] = by_group.transform("mean").round(_decimals(values))
            trial_wide = round(float(values.mean()), _decimals(values))
        else:
            trial_wide = values.mode(dropna=False).iloc[0]
            modes = by_group.transform(lambda v: v.mode(dropna=False).iloc[0])
            # a category fewer than SCHOOL_GROUP schools hold points at them: the trial's mode
            shared = modes.astype(str).map(values.astype(str).value_counts()).fillna(0) >= SCHOOL_GROUP
            replaced[name] = modes.where(shared, trial_wide)
        replaced.loc[group.isin(small), name] = trial_wide  # suppressed: shared by every school
    return replaced


def _is_measurement(values: pd.Series, meta: TrialMeta) -> bool:
    return meta.kinds.get(str(values.name)) == "continuous" and pd.api.types.is_numeric_dtype(values)


def _ranges(
    first: pd.DataFrame, group: pd.Series, columns: list[str], meta: TrialMeta, small: list[str]
) -> dict:
    """Per group, per measurement: the range of its schools' values (a suppressed group: none)."""
    out: dict = {}
    for name in columns:
        if not _is_measurement(first[name], meta):
            continue
        spans = first[name].astype(float).groupby(group).agg(["min", "max"])
        for label, (low, high) in spans.iterrows():
            if label not in small and np.isfinite(low) and np.isfinite(high):
                out.setdefault(label, {})[name] = (float(low), float(high))
    return out


def assign_schools(
    synthetic: pd.DataFrame, meta: TrialMeta, control: SchoolControl, rng: np.random.Generator
) -> pd.DataFrame:
    """Each group's synthetic rows dealt at random into as many schools as the group has, of
    equal sizes (within one pupil), labelled ``school-NNN`` (or 1..K where the real ids are
    numbers) in a random order."""
    cluster = meta.cluster
    if not control.applied or cluster is None or cluster not in synthetic.columns:
        return synthetic
    frame = synthetic.reset_index(drop=True)
    school = np.empty(len(frame), dtype=np.int64)
    next_school = 0
    for label, rows in frame.groupby(cluster, sort=True).indices.items():
        k = max(1, min(int(control.schools_in.get(label, 1)), len(rows)))
        dealt = rng.permutation(len(rows)) % k
        school[rows] = next_school + dealt
        next_school += k
    order = rng.permutation(next_school)
    width = max(3, len(str(next_school)))
    out = frame.copy()
    _spread_values(out, frame[cluster].to_numpy(), school, control, rng)
    if control.numeric_ids:
        out[cluster] = (order[school] + 1).astype(np.int64)
    else:
        out[cluster] = pd.Series([f"school-{order[s] + 1:0{width}d}" for s in school], dtype=object)
    return out


SPREAD_TRIES = 20  # draws of a dealt school's values before it keeps its group's


def _spread_values(
    out: pd.DataFrame,
    groups: np.ndarray,
    school: np.ndarray,
    control: SchoolControl,
    rng: np.random.Generator,
) -> None:
    """Each dealt school's school-level measurements drawn uniformly within its group's range (at
    the column's precision), so the file's values spread as the real schools' do instead of
    piling on one value per group; a draw whose profile fits exactly one real school is drawn
    again (``SPREAD_TRIES`` times, then the group's own values stay)."""
    if control.real_profile is None or not control.ranges:
        return
    for index in np.unique(school):
        rows = np.flatnonzero(school == index)
        spans = control.ranges.get(groups[rows[0]])
        if not spans:
            continue
        profile = out.loc[rows[:1], list(control.real_profile.columns)].reset_index(drop=True)
        for _ in range(SPREAD_TRIES):
            trial = profile.copy()
            for name, (low, high) in spans.items():
                trial[name] = round(float(rng.uniform(low, high)), control.decimals.get(name, 6))
            if fitting(control.real_profile, trial, control.window).sum() != 1:
                for name in spans:
                    out.loc[rows, name] = trial.at[0, name]
                break


def _away_from_single_schools(
    first: pd.DataFrame, replaced: pd.DataFrame, group: pd.Series, data: pd.DataFrame, meta: TrialMeta
) -> tuple[pd.DataFrame, int]:
    """A group's values that fit exactly one real school (``metrics.schools``: equal, or within
    the window on each measurement) point at it although the group shares them: such a group's
    measurement is moved just outside that school's window - inside the group's own range of
    values where it can be, else inside the column's range - to the first value at which the
    profile fits no single school. Returns the values and how many groups moved."""
    if replaced.empty:
        return replaced, 0
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
                if float(first[name].min()) <= value <= float(first[name].max()):
                    candidates.append((not inside, name, round(value, _decimals(first[name]))))
        for _, name, value in sorted(candidates, key=lambda c: c[0]):
            trial = per_group.iloc[[row]].copy()
            trial[name] = value
            if fitting(first, trial, window).sum() != 1:
                replaced.loc[group == label, name] = value
                nudged += 1
                break
    return replaced, nudged


def _order(
    first: pd.DataFrame, sizes: pd.Series, means: pd.DataFrame, primary: pd.Series | None = None
) -> pd.Series:
    """Schools in order of their pupils' mean primary outcome (so a group's schools share their
    school effect, and the outcome's clustering survives the grouping), ties and a trial
    without a numeric primary outcome along the first principal component of their
    standardised school-level values (category codes as numbers), pupils' mean values and log
    size."""
    parts = [np.log(sizes.to_numpy(dtype=float))]
    for frame in (first, means):
        for name in frame.columns:
            values = frame[name]
            if pd.api.types.is_numeric_dtype(values):
                numbers = values.astype(float)
                parts.append(numbers.fillna(numbers.mean()).fillna(0.0).to_numpy())
            else:
                parts.append(pd.factorize(values.astype(str), sort=True)[0].astype(float))
    x = np.column_stack(parts)
    x = (x - x.mean(axis=0)) / np.where(x.std(axis=0) > 0, x.std(axis=0), 1.0)
    score = np.linalg.svd(x, full_matrices=False)[2][0] @ x.T if len(x) > 1 else np.zeros(len(x))
    if primary is not None and primary.notna().any():
        outcome = primary.reindex(sizes.index).astype(float)
        frame = pd.DataFrame({"outcome": outcome.fillna(outcome.mean()), "score": score}, index=sizes.index)
        return frame.sort_values(["outcome", "score"], kind="stable")["outcome"]
    return pd.Series(score, index=sizes.index).sort_values(kind="stable")


def _decimals(values: pd.Series, limit: int = 6) -> int:
    present = values.dropna().to_numpy(dtype=float)[:5000]
    for places in range(limit + 1):
        if np.allclose(present, np.round(present, places), rtol=0, atol=1e-9):
            return places
    return limit


@dataclass(frozen=True)
class SchoolsControlled:
    """The rows the synthesiser is fitted on, after school-level disclosure control (``data``
    holds real rows: never recorded)."""

    data: pd.DataFrame = field(repr=False)
    control: SchoolControl

    def record(self) -> dict[str, Any]:
        return self.control.record()


def control_schools(
    cleaned: Cleaned, held: Holdout, method: type[Synthesiser] | Synthesiser
) -> SchoolsControlled:
    """School-level control on the training rows of a method fitted on rows without a privacy
    guarantee that does not synthesise schools itself; a method that does (CART's two levels,
    ``synthesisers.cart_schools``) is fitted on the rows as they are and never sees a real school
    id as a predictor, a differentially private method's guarantee covers schools already (its
    fit is not changed), and a method fitted on cleared outputs never sees a school's values."""
    training = held.training(cleaned.data)
    probe = method() if isinstance(method, type) else method
    capabilities = capabilities_of(probe)
    if "differentially_private" in capabilities or "from_released_outputs" in capabilities:
        return SchoolsControlled(training, SchoolControl())
    if models_schools(probe):
        return SchoolsControlled(training, SchoolControl())
    data, control = group_schools(training, cleaned.meta)
    return SchoolsControlled(data, control)
