"""Identifier detection: columns that would name a pupil, a teacher or a record if synthesised.

A refusal is cheap, an id synthesised as a number or released as a category is not; a measurement
refused is a trial not released. The two differ in what the data show: an id is near-unique per
row (or per unit) and its values carry no distribution - each handed out to one row (or to one
unit's rows, which then agree on the unit's other columns); a measurement ties where its
distribution piles up, across unrelated rows (laboratory values, birth weights, survival
times). A column that looks like an identifier on that evidence is refused until the manifest
says what it is (``drop``, ``cluster``, ``unit`` or ``continuous``), and the refusal names the
evidence.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from trialsynth.errors import TrialDataError

MAX_CATEGORIES = 100  # a text or declared-categorical column with more levels is identifying


ID_NAME = re.compile(
    r"(?i)(^|[^a-z])(id|ids|no|num|number|code|urn|upn|uln|ref|serial|pupil|student)$|[a-z]id$|ID$"
)


MAX_ROWS_PER_ID = 12  # an id repeats once per wave or record, a measurement's values far more


MIN_ID_LEVELS = 20  # a column named like an id, with more values than this, is judged whatever its type


EQUAL_COUNTS = 0.99  # share of values held by the same number of rows at which they were handed out


UNIT_AGREEMENT = 0.9  # share of a value's rows agreeing on another column that marks one unit's rows


UNIT_MARGIN = 0.3  # ... when chance (the values shuffled over the rows) gives this much less


MIN_TIED_VALUES = 20  # tied values needed to read the agreement of their rows


def handed_out(counts: pd.Series) -> str | None:
    """The evidence that a column's values were handed out, one per row or one per unit: (almost)
    every value held by the same number of rows. A measurement's values tie where its
    distribution piles up, some values in one row, some in several."""
    modal = int(counts.mode().iloc[0])
    share = float((counts == modal).mean())
    if share < EQUAL_COUNTS:
        return None
    return f"{share:.0%} of its values each in exactly {_rows(modal)}, as numbers handed out are"


def unit_rows(column: pd.Series, frame: pd.DataFrame, seed: int = 0) -> str | None:
    """The evidence that rows sharing a value are one unit's rows (a long-format file's pupil id
    with a varying number of rows per pupil): they agree on another coded column (sex, school,
    birth year) in at least ``UNIT_AGREEMENT`` of the tied values, ``UNIT_MARGIN`` more than
    the same values shuffled over the rows give. Rows sharing a measurement's value (a birthday,
    a day of follow-up) are different pupils and agree no more than chance."""
    present = column.dropna()
    counts = present.value_counts()
    tied = counts.index[counts > 1]
    if len(tied) < MIN_TIED_VALUES:
        return None
    shuffled = pd.Series(np.random.default_rng(seed).permutation(present.to_numpy()), index=present.index)
    for other in frame.columns:
        values = frame.loc[present.index, other]
        if other == column.name or not 2 <= values.nunique() <= MAX_CODED_LEVELS:
            continue
        observed, chance = (_agreement(key, values, tied) for key in (present, shuffled))
        if observed >= UNIT_AGREEMENT and observed - chance >= UNIT_MARGIN:
            return (
                f"rows sharing a value agree on {other!r} for {observed:.0%} of the shared values "
                f"({chance:.0%} by chance), as one unit's rows do"
            )
    return None


MAX_CODED_LEVELS = 20  # another column read for agreement: a coded one


def _agreement(key: pd.Series, values: pd.Series, tied) -> float:
    rows = key.isin(tied)
    same = values[rows].groupby(key[rows]).nunique(dropna=False) == 1
    return float(same.mean())


def looks_like_id(column: pd.Series, frame: pd.DataFrame | None = None) -> str | None:
    """Why a column looks like an identifier (pupil, student or teacher numbers), or None.

    A column of any type with more than ``MIN_ID_LEVELS`` distinct values, named like an id
    (``id``, ``_no``, ``number``, ``code``, ``urn``, ``upn``, ``serial``, ``pupil``), each in at
    most ``MAX_ROWS_PER_ID`` rows (a small file's pupil ids, numbers or text); an integer column
    with more than ``MAX_CATEGORIES`` distinct values named like an id; and an unnamed integer
    column with more than ``MAX_CATEGORIES`` values, each in at most ``MAX_ROWS_PER_ID`` rows,
    whose values were handed out (``handed_out``) or whose rows sharing a value are one unit's
    (``unit_rows``, read against the rest of ``frame``). An integer measurement - its values
    tying where its distribution piles up, across unrelated rows - is never refused for its many
    values; one with no tie at all cannot be told from an id by its values and is refused until
    declared ``continuous``."""
    present = column.dropna()
    if present.empty or pd.api.types.is_bool_dtype(column):
        return None
    levels = present.nunique()
    named = bool(ID_NAME.search(str(column.name)))
    counts = present.value_counts()
    most = int(counts.iloc[0])
    if named and levels > MIN_ID_LEVELS and most <= MAX_ROWS_PER_ID:
        return f"{levels:,} distinct values, none in more than {_rows(most)}, and a name like an identifier"
    if not pd.api.types.is_numeric_dtype(column) or levels <= MAX_CATEGORIES:
        return None
    values = present.to_numpy(dtype=float)
    if not np.all(np.isfinite(values)) or not np.all(values == np.round(values)):
        return None
    if named:
        return f"{levels:,} distinct integers and a name like an identifier"
    if most > MAX_ROWS_PER_ID:
        return None
    evidence = handed_out(counts) or (unit_rows(column, frame) if frame is not None else None)
    if evidence is None:
        return None
    return f"{levels:,} distinct integers, none in more than {_rows(most)}, {evidence}"


def _rows(count: int) -> str:
    return f"{count} row" if count == 1 else f"{count} rows"


def check_identifiers(frame: pd.DataFrame, trial_id: str, declared: set[str]) -> None:
    """Refuse columns that look like identifiers (``looks_like_id``) unless the manifest says what
    they are."""
    problems = []
    for name in frame.columns:
        if name in declared:
            continue
        why = looks_like_id(frame[name], frame)
        if why:
            problems.append(
                f"trial {trial_id!r}: column {name!r} looks like an identifier ({why}): declare it "
                "under 'drop' (never synthesised), 'cluster' (a school or class), 'unit' (the pupil "
                "of a long-format file) or 'continuous' (a measurement)"
            )
    if problems:
        raise TrialDataError("; ".join(problems))
