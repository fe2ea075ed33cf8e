"""Identifier detection: columns that would name a pupil, a teacher or a record if synthesised.

A refusal is cheap, an id synthesised as a number or released as a category is not; a measurement
refused is a trial not released. The two differ in what the data show: an id is near-unique per
row (or per unit) and its values carry no distribution - handed out evenly over a range, or in the
file's own row order; a measurement piles up where its distribution does (laboratory values,
birth weights, survival times). A column that looks like an identifier on that evidence is
refused until the manifest says what it is (``drop``, ``cluster``, ``unit`` or ``continuous``),
and the refusal names the evidence.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from scipy import stats

from trialsynth.errors import TrialDataError

MAX_CATEGORIES = 100  # a text or declared-categorical column with more levels is identifying


ID_NAME = re.compile(r"(?i)(^|[^a-z])(id|ids|no|num|number|code)$|[a-z]id$|ID$")


MAX_ROWS_PER_ID = 12  # an id repeats once per wave or record, a measurement's values far more


MIN_ID_LEVELS = 20  # a column named like an id, with more values than this, is judged whatever its type


FLAT_KS = 1.63  # Kolmogorov-Smirnov critical value at the 1% level, times sqrt(number of values)


IN_ORDER = 0.995  # rank correlation with the row position at which values run in the file's order


def no_distribution(values: np.ndarray, levels: int) -> str | None:
    """The evidence that integer values carry no distribution, or None (a measurement's values do).

    ``values`` in file order, missing values left out. Evidence is either a spread as even as
    numbers handed out over a range (the Kolmogorov-Smirnov distance from a uniform spread over
    the values' range within what a uniform draw of ``levels`` values gives at the 1% level; rows
    sharing a unit's id are not independent draws, so the bound counts values, not rows), or
    values that run in the file's row order (a file sorted by its id)."""
    low, high = float(values.min()), float(values.max())
    if high == low:
        return None
    distance = float(stats.kstest((values - low) / (high - low), "uniform").statistic)
    if distance <= FLAT_KS / np.sqrt(levels):
        return (
            f"spread as evenly over {low:,.0f}-{high:,.0f} as numbers handed out (distance "
            f"{distance:.3f} from a uniform spread; a measurement piles up where its distribution does)"
        )
    order = float(stats.spearmanr(np.arange(len(values)), values).statistic)
    if abs(order) >= IN_ORDER:
        return f"running in the file's row order (rank correlation {order:+.3f} with the row)"
    return None


def looks_like_id(column: pd.Series) -> str | None:
    """Why a column looks like an identifier (pupil, student or teacher numbers), or None.

    A column of any type with more than ``MIN_ID_LEVELS`` distinct values, named like an id
    (``id``, ``_no``, ``number``, ``code``), each in at most ``MAX_ROWS_PER_ID`` rows (a small
    file's pupil ids, numbers or text); an integer column with more than ``MAX_CATEGORIES``
    distinct values named like an id; and an unnamed integer column with more than
    ``MAX_CATEGORIES`` values, each in at most ``MAX_ROWS_PER_ID`` rows, whose values carry no
    distribution (``no_distribution``). An integer measurement - its values piling up where its
    distribution does - is never refused for its many values."""
    present = column.dropna()
    if present.empty or pd.api.types.is_bool_dtype(column):
        return None
    levels = present.nunique()
    named = bool(ID_NAME.search(str(column.name)))
    most = int(present.value_counts().iloc[0])
    if named and levels > MIN_ID_LEVELS and most <= MAX_ROWS_PER_ID:
        return f"{levels:,} distinct values, none in more than {most} rows, and a name like an identifier"
    if not pd.api.types.is_numeric_dtype(column) or levels <= MAX_CATEGORIES:
        return None
    values = present.to_numpy(dtype=float)
    if not np.all(np.isfinite(values)) or not np.all(values == np.round(values)):
        return None
    if named:
        return f"{levels:,} distinct integers and a name like an identifier"
    if most > MAX_ROWS_PER_ID:
        return None
    evidence = no_distribution(values, levels)
    if evidence is None:
        return None
    return f"{levels:,} distinct integers, none in more than {most} rows, {evidence}"


def check_identifiers(frame: pd.DataFrame, trial_id: str, declared: set[str]) -> None:
    """Refuse columns that look like identifiers (``looks_like_id``) unless the manifest says what
    they are."""
    problems = []
    for name in frame.columns:
        if name in declared:
            continue
        why = looks_like_id(frame[name])
        if why:
            problems.append(
                f"trial {trial_id!r}: column {name!r} looks like an identifier ({why}): declare it "
                "under 'drop' (never synthesised), 'cluster' (a school or class), 'unit' (the pupil "
                "of a long-format file) or 'continuous' (a measurement)"
            )
    if problems:
        raise TrialDataError("; ".join(problems))
