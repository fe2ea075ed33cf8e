"""The school-level statistics of CART's two-level design (``cart_schools``): the shrunken school
means that carry the clustering to the pupils, outcomes centred on them, and the arm counts
pupils and schools are dealt with."""

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
MAX_MEANS = 6


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
    data: pd.DataFrame, meta: TrialMeta, school: pd.Series, pupils: list[str]
) -> pd.DataFrame:
    """The shrunken school means of the pupil measurements that cluster: ICC >= ``MIN_ICC``,
    the primary outcome first, then by ICC, ``MAX_MEANS`` at most; one row per school. Where
    schools were randomised, each school's means shrink towards its arm's."""
    arm = (
        meta.treatment
        if meta.treatment in data and data.groupby(school)[meta.treatment].nunique().max() == 1
        else None
    )
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


def centred(data: pd.DataFrame, rows: pd.DataFrame, school: pd.Series) -> pd.DataFrame:
    """Each outcome with a clustered mean (a column of ``rows``) moved, pupil by pupil, from its
    school's raw mean to the school's shrunken mean: a donor then carries its school's effect as
    estimated, not the sampling noise of that school's mean, which a new school's own pupils add
    again (without it the ICC of the primary outcome rose by about 0.03 on the demo trials:
    0.093 -> 0.126 on the 9,900-row one; with it 0.103). Only outcomes: centring the baseline
    too moved the adjusted treatment effect (CI overlap 0.71 -> 0.45)."""
    out = data.copy()
    for column in [c for c in rows.columns if c.startswith(MEAN)]:
        name = column.removeprefix(MEAN)
        values = out[name].astype(float)
        if values.nunique() < SMOOTH_MIN_LEVELS:
            continue
        raw = values.groupby(school).transform("mean")
        low, high = float(values.min()), float(values.max())
        out[name] = (values - raw + rows[column].astype(float)).clip(low, high).round(decimals_of(data[name]))
    return out


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
