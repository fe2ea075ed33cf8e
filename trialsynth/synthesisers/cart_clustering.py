"""The school-level statistics of CART's two-level design (``cart_schools``): the shrunken school
means that carry the clustering to the pupils, outcomes drawn as deviations from them, and the
arm counts pupils and schools are dealt with."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from trialsynth.domain import decimals_of
from trialsynth.meta import TrialMeta
from trialsynth.missing import NA_CATEGORY, as_label
from trialsynth.synthesisers.cart_smoothing import SMOOTH_MIN_LEVELS
from trialsynth.synthesisers.cart_trees import largest_remainder

RULE = "cart-design-v1"
MEAN = "__school_mean__:"
SIZE = "__school_size__"
MIN_ICC = 0.02
POINT_MASS = 0.1  # an outcome one value of which this share of pupils hold is drawn as it is
MAX_MEANS = 6
ASSIGN_MAX = 1500  # schools of an arm dealt their means by an optimal assignment (n^3 time)


def shrunken_means(
    values: pd.Series, school: pd.Series, stratum: pd.Series | None = None
) -> tuple[pd.Series, float]:
    """Each school's mean of ``values`` shrunk towards the grand mean by its reliability
    ``tau2 / (tau2 + sigma2 / n_j)`` (one-way ANOVA moments), and the estimated ICC. With a
    ``stratum`` constant within each school (the arm of a school-randomised trial), towards the
    stratum's mean: the strata's difference (the treatment effect) is not shrunk."""
    if stratum is not None:
        centre = values.groupby(stratum.to_numpy()).transform("mean")
        means, icc = shrunken_means(values - centre, school)
        return means + centre.groupby(school.to_numpy()).first().reindex(means.index).fillna(0.0), icc
    present = values.notna()
    grouped = values[present].astype(float).groupby(school[present])
    means, sizes = grouped.mean(), grouped.size().astype(float)
    index = pd.Index(school.unique())
    grand = float(values[present].mean()) if present.any() else 0.0
    if len(means) < 2 or sizes.sum() <= len(means):
        return pd.Series(grand, index=index), 0.0
    within = float(grouped.var(ddof=1).fillna(0.0).mul(sizes - 1).sum() / (sizes.sum() - len(means)))
    between = float(((means - grand) ** 2 * sizes).sum() / (len(means) - 1))
    n0 = float((sizes.sum() - (sizes**2).sum() / sizes.sum()) / (len(means) - 1))
    tau2 = max((between - within) / n0, 0.0)
    icc = tau2 / (tau2 + within) if tau2 + within > 0 else 0.0
    reliability = tau2 / (tau2 + within / sizes)
    return (grand + reliability * (means - grand)).reindex(index).fillna(grand), icc


def clustered_means(
    data: pd.DataFrame, meta: TrialMeta, school: pd.Series, pupils: list[str], arm: str | None = None
) -> pd.DataFrame:
    """The shrunken school means of the pupil measurements that cluster: ICC >= ``MIN_ICC``,
    the primary outcome first, then by ICC, ``MAX_MEANS`` at most; one row per school. Where
    schools were randomised, each school's means shrink towards its arm's (``arm``: the column
    of the school's arm, default the treatment where it is constant within schools)."""
    if arm is None and meta.treatment in data and data.groupby(school)[meta.treatment].nunique().max() == 1:
        arm = meta.treatment
    stratum = data[arm].astype(str) if arm else None
    found: list[tuple[bool, float, str, pd.Series]] = []
    for name in pupils:
        if meta.kinds.get(name) == "categorical" or not pd.api.types.is_numeric_dtype(data[name]):
            continue
        means, icc = shrunken_means(data[name], school, stratum)
        if icc >= MIN_ICC:
            found.append((name != meta.primary_outcome, -icc, name, means))
    found.sort(key=lambda f: (f[0], f[1]))
    columns = {f"{MEAN}{name}": means for _, _, name, means in found[:MAX_MEANS]}
    return pd.DataFrame(columns, index=pd.Index(school.unique()))


def deal(labels: list[object], counts: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` labels in proportion to ``counts`` (largest remainder: the real counts exactly when
    ``n`` is their total), in a random order."""
    whole = largest_remainder(counts, n)
    return rng.permutation(np.repeat(np.asarray(labels, dtype=object), whole))


def one_arm_a_school(arm: pd.Series, school: pd.Series | None) -> bool:
    """Whether every school holds one arm, its pupils never randomised (missing) aside: a
    school-randomised trial with late joiners."""
    if school is None:
        return False
    present = arm.notna() & (arm.astype(str) != NA_CATEGORY)
    return bool(present.any()) and int(arm[present].groupby(school[present]).nunique().max()) == 1


def deviations(data: pd.DataFrame, rows: pd.DataFrame, school: pd.Series) -> tuple[pd.DataFrame, dict]:
    """Each measurement with a clustered mean (a column of ``rows``) as its pupils' deviations
    from their school's raw mean: the pupil trees draw deviations, and a drawn pupil's value is
    its new school's shrunken mean plus the deviation (``with_school_means``), so the school
    effect a new school carries is the one dealt to it, not an average over the schools a
    leaf's donors come from. A measurement with a point mass (``POINT_MASS`` of its pupils on
    one value: no spending, a ceiling score) keeps its values: moved by a school's mean, the
    mass would spread. Returns the frame and, per measurement moved, its real range and
    decimals.

    Measured (5 seeds; ICC of the primary outcome real -> synthetic, effect CI overlap): donors
    moved from their school's raw mean to its shrunken mean and drawn as they are gave Hsb82
    0.174 -> 0.212, 0.73 (3 seeds); Project STAR wide 0.199 -> 0.131, 0.59 (3). As deviations
    (baseline and outcomes), each leaf from at least three schools (``cart_schools.MIN_GROUPS``):
    0.174 -> 0.198, 0.91; 0.199 -> 0.213, 0.59; the 9,900-row demo trial 0.093 -> 0.081, 0.81.
    The outcomes alone as deviations: 0.188, 0.79; 0.210, 0.66; 0.084, 0.84 - and a
    school-randomised three-arm trial's +2.3 arm drawn as +4.2 (baseline drawn from several
    schools' pupils moved each school's outcomes with it)."""
    out, kept = data.copy(), {}
    for column in [c for c in rows.columns if c.startswith(MEAN)]:
        name = column.removeprefix(MEAN)
        values = out[name].astype(float)
        if values.nunique() < SMOOTH_MIN_LEVELS or values.value_counts(normalize=True).iloc[0] >= POINT_MASS:
            continue  # a code, or a point mass a school's mean would spread
        kept[name] = (float(values.min()), float(values.max()), decimals_of(data[name]))
        out[name] = values - values.groupby(school).transform("mean")
    return out, kept


def with_school_means(drawn: pd.DataFrame, means: pd.DataFrame, moved: dict) -> pd.DataFrame:
    """Drawn deviations (``deviations``) back to values: each row's school mean (``means``, a
    row per drawn row) added, within the real range, at the real decimals."""
    for name, (low, high, places) in moved.items():
        if name in drawn:
            school_mean = means[f"{MEAN}{name}"].to_numpy(dtype=float)
            drawn[name] = np.round(
                np.clip(drawn[name].to_numpy(dtype=float) + school_mean, low, high), places
            )
    return drawn


def arm_counts(arm: pd.Series, meta: TrialMeta) -> pd.Series:
    """Rows per arm as CART holds the arm (text with ``NA_CATEGORY``, or numbers with NaN, for
    the unrandomised): the real arm sizes (``meta.arms``) where every arm is among the training
    rows, else the training rows' own."""
    text = not pd.api.types.is_numeric_dtype(arm)
    real: dict[object, float] = {(as_label(a) if text else float(str(a))): float(n) for a, n in meta.arms}
    if meta.unrandomised:
        real[NA_CATEGORY if text else np.nan] = float(meta.unrandomised)
    held = arm.value_counts(dropna=False)
    known = set(held.index.map(lambda v: "nan" if v != v else v))
    if real and all(("nan" if label != label else label) in known for label in real):
        return pd.Series(list(real.values()), index=pd.Index(list(real), dtype=object), dtype=float)
    return held.astype(float)


def school_arm(arm: pd.Series, school: pd.Series) -> pd.Series:
    """Each pupil's school's arm, where every school holds one (``one_arm_a_school``): the arm of
    its randomised pupils, given its unrandomised ones too, so the school table deals the arm
    with the real number of schools per arm and the means within it, and a pupil's arm (or its
    never being randomised) is drawn given its school's."""
    present = arm.notna() & (arm.astype(str) != NA_CATEGORY)
    first = arm[present].groupby(school[present].to_numpy()).first()
    return school.map(first).fillna(arm).set_axis(arm.index)


def blank_schools(school: pd.Series) -> pd.Series:
    """The pupils without a school: no id (NaN, or CART's missing category)."""
    return school.isna() | (school.astype(object) == NA_CATEGORY)


def blank_row(blank: pd.DataFrame, data: pd.DataFrame, table: pd.DataFrame) -> pd.Series:
    """The row the pupils without a school are drawn given: no size (0), their school-level
    values (constant among them, as among any school's pupils) and, for each clustered mean,
    their own mean (else every pupil's): not a school, never in the school table or its gate."""
    row = pd.Series(index=table.columns, dtype=object)
    for name in table.columns:
        if name == SIZE:
            row[name] = 0.0
        elif name.startswith(MEAN):
            measured = pd.to_numeric(blank[name.removeprefix(MEAN)], errors="coerce")
            fallback = pd.to_numeric(data[name.removeprefix(MEAN)], errors="coerce").mean()
            row[name] = float(measured.mean() if measured.notna().any() else np.nan_to_num(fallback))
        else:
            row[name] = blank[name].iloc[0]
    return row


def school_arm_pupils(arm: pd.Series, blank: pd.Series, meta: TrialMeta) -> pd.Series:
    """Pupils per arm among those with a school, where schools hold the arm: the real arm sizes
    less the share of the pupils without a school."""
    counts = arm_counts(arm, meta).rename(index=as_label)
    if blank.any():
        scale = float(counts.sum()) / len(arm)
        without = arm[blank].map(as_label).value_counts() * scale
        counts = (counts - without.reindex(counts.index).fillna(0.0)).clip(lower=0.0)
    return counts


@dataclass
class SchoolsDrawn:
    """What one draw of new schools did (counts only)."""

    schools: int = 0
    redrawn: int = 0  # draws of a school whose profile fitted exactly one real school
    took_other_profile: int = 0  # fitting one after every re-draw: given another new profile

    def record(self) -> dict[str, Any]:
        return {
            "rule": RULE,
            "schools_drawn": self.schools,
            "schools_redrawn_off_one_real_school": self.redrawn,
            "schools_given_another_new_schools_profile": self.took_other_profile,
        }


def as_compared(profile: pd.DataFrame, window: dict[str, float | None]) -> pd.DataFrame:
    """School profiles as the gate compares them: a category or a code as its label (1, 1.0 and
    "1" alike), a measurement as it is."""
    out = profile.copy()
    for name, width in window.items():
        if width is None:
            out[name] = out[name].map(as_label)
    return out


def dealt_means(schools: pd.DataFrame, real_means: pd.DataFrame, arm: str | None) -> pd.DataFrame:
    """The real schools' clustered means (``real_means``, with the school's ``arm``) dealt to the
    new ``schools`` within each arm, each real school's means to the new school whose drawn
    means are nearest them: an optimal assignment on the means scaled by their real spread, the
    first (the primary outcome's) counting as much as the rest together (with one measurement,
    or more than ``ASSIGN_MAX`` schools, by the rank of the first). Every real school's means
    are used once per arm, so the arms' school effects - and the trial's effect - are the real
    ones, and a school's means stay together (its baseline and outcome alike), while which new
    school (context, size) carries them follows the model. Dealt by the rank of the outcome's
    mean alone, a new school's other means lost their association with its context: Hsb82's
    pupil SES against the school's mean SES, real 0.53, drawn 0.29 (0.43-0.46 dealt so); dealt
    measurement by measurement, a school's baseline and outcome means parted."""
    from scipy.optimize import linear_sum_assignment

    means = [c for c in real_means.columns if c.startswith(MEAN)]
    if not means:
        return schools
    real_arm = real_means[arm].map(as_label) if arm else pd.Series("", index=real_means.index)
    new_arm = schools[arm].map(as_label) if arm else pd.Series("", index=schools.index)
    weight = np.r_[max(len(means) - 1, 1), np.ones(len(means) - 1)]
    for label in real_arm.unique():
        real = real_means.loc[real_arm == label, means].to_numpy(dtype=float)
        mine = schools.index[new_arm == label]
        if len(mine) != len(real):
            continue  # (never: the arms are dealt with the real counts) the drawn means stay
        drawn = schools.loc[mine, means].to_numpy(dtype=float)
        if len(mine) > ASSIGN_MAX:
            new_rows, real_rows = drawn[:, 0].argsort(kind="stable"), real[:, 0].argsort(kind="stable")
        else:
            scale = np.where(real.std(axis=0) > 0, real.std(axis=0), 1.0)
            gaps = np.zeros((len(mine), len(real)))
            for j in range(len(means)):  # (a column at a time: schools x schools, not x means too)
                gaps += weight[j] * np.subtract.outer(drawn[:, j] / scale[j], real[:, j] / scale[j]) ** 2
            new_rows, real_rows = linear_sum_assignment(gaps)
        schools.loc[mine[new_rows], means] = real[real_rows]
    return schools


def pupils_of_schools(
    n: int,
    sizes: np.ndarray,
    arm_of_school: np.ndarray | None,
    pupil_arms: pd.Series | None,
    rng: np.random.Generator,
) -> np.ndarray:
    """Each of ``n`` pupils' new school (a position among ``sizes``), in proportion to the
    schools' sizes; where schools were randomised (``arm_of_school``: each school's arm label),
    each arm's pupils (``pupil_arms``: the real arm sizes) shared among that arm's schools."""
    sizes = np.maximum(sizes, 1.0)
    if arm_of_school is None or pupil_arms is None:
        return deal(list(range(len(sizes))), sizes, n, rng).astype(np.intp)
    per_arm = deal(list(pupil_arms.index), pupil_arms.to_numpy(dtype=float), n, rng)
    school_of = np.empty(n, dtype=np.intp)
    for label in np.unique(per_arm.astype(str)):
        pupils = np.flatnonzero(per_arm.astype(str) == label)
        schools = np.flatnonzero(arm_of_school == label)
        if not len(schools):  # no new school of this arm: its pupils among every school
            schools = np.arange(len(sizes))
        school_of[pupils] = schools[
            deal(list(range(len(schools))), sizes[schools], len(pupils), rng).astype(np.intp)
        ]
    return school_of


def other_profiles(
    schools: pd.DataFrame, fits_one: np.ndarray, context: list[str], rng: np.random.Generator
) -> pd.DataFrame:
    """The new schools still fitting one real school (``fits_one``) take the school-level profile
    (``context``: the school-level columns but the arm) of a new school that fits none or several."""
    donors = np.flatnonzero(~fits_one)
    if not len(donors):
        raise ValueError("no new school could be drawn off a single real school's profile")
    picks = donors[rng.integers(0, len(donors), int(fits_one.sum()))]
    schools.loc[fits_one, context] = schools.iloc[picks][context].to_numpy()
    return schools
