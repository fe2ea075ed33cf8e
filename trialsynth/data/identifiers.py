"""Identifier detection: columns that would name a pupil, a teacher or a record if synthesised.

A refusal is cheap, an id synthesised as a number or released as a category is not: a column
that looks like an identifier is refused until the manifest says what it is (``drop``,
``cluster``, ``unit`` or ``continuous``).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from trialsynth.errors import TrialDataError

MAX_CATEGORIES = 100  # a text or declared-categorical column with more levels is identifying


ID_NAME = re.compile(r"(?i)(^|[^a-z])(id|ids|no|num|number|code)$|[a-z]id$|ID$")


MAX_ROWS_PER_ID = 12  # an id repeats once per wave or record, a measurement's values far more


MIN_ID_LEVELS = 20  # a column named like an id, with more values than this, is judged whatever its type


def looks_like_id(column: pd.Series) -> str | None:
    """Why a column looks like an identifier (pupil, student or teacher numbers), or None.

    An integer-valued column with more than ``MAX_CATEGORIES`` distinct values whose name ends
    like an id (``id``, ``_no``, ``number``, ``code``) or whose values each occur in at most
    ``MAX_ROWS_PER_ID`` rows (the pupil id of a long-format file: one row per wave); and a column
    of any type with more than ``MIN_ID_LEVELS`` distinct values, named like an id, each in at
    most ``MAX_ROWS_PER_ID`` rows (a small file's pupil ids, numbers or text). A measurement taken
    for an id is declared ``continuous`` (or given ``bounds``); a refusal is cheap, an id
    synthesised as a number or released as a category is not."""
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
    if most <= MAX_ROWS_PER_ID:
        return f"{levels:,} distinct integers, none in more than {most} rows"
    return None


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
