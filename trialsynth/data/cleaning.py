"""Appendix A of the study as small pure functions: drop what need not be synthesised, fix types.

Every drop is recorded with its reason. Missing values stay missing in the cleaned frame (they
are a feature of the data): each synthesiser encodes them its own way (``trialsynth/missing.py``).
Putting the dropped columns back into a released file is ``trialsynth/restore.py``.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable

import numpy as np
import pandas as pd

from trialsynth.errors import TrialDataError
from trialsynth.meta import DroppedColumn, Kind, TrialMeta
from trialsynth.missing import as_label, plain
from trialsynth.plan import TrialPlan

NUMERIC_PARSE_SHARE = 0.95  # a text column whose values are numbers this often becomes numeric
MAX_CATEGORIES = 100  # a text or declared-categorical column with more levels is identifying


def drop_listed(frame: pd.DataFrame, names: Iterable[str]) -> tuple[pd.DataFrame, list[DroppedColumn]]:
    names = [n for n in names if n in frame.columns]
    return frame.drop(columns=names), [DroppedColumn(n, "listed in the manifest's drop") for n in names]


def drop_empty(frame: pd.DataFrame, protected: set[str]) -> tuple[pd.DataFrame, list[DroppedColumn]]:
    names = [c for c in frame.columns if c not in protected and frame[c].isna().all()]
    return frame.drop(columns=names), [
        DroppedColumn(n, "empty: every value is missing", restore="missing") for n in names
    ]


def drop_constant(frame: pd.DataFrame, protected: set[str]) -> tuple[pd.DataFrame, list[DroppedColumn]]:
    names = [c for c in frame.columns if c not in protected and frame[c].nunique(dropna=False) == 1]
    return frame.drop(columns=names), [
        DroppedColumn(n, "constant: one value in every row", restore="constant", value=frame[n].iloc[0])
        for n in names
    ]


def _is_unit_id(column: pd.Series) -> bool:
    discrete = pd.api.types.is_integer_dtype(column) or not pd.api.types.is_numeric_dtype(column)
    return discrete and column.notna().all() and column.is_unique and len(column) > 1


def _id_style(column: pd.Series) -> str:
    return "integer" if pd.api.types.is_integer_dtype(column) else "text"


def value_key(value: object) -> object:
    """A dictionary key under which NaN finds NaN."""
    return "\0missing" if pd.isna(value) else value


def drop_unit_ids(frame: pd.DataFrame, protected: set[str]) -> tuple[pd.DataFrame, list[DroppedColumn]]:
    """Integer or text columns with a distinct value in every row identify units, not clusters."""
    names = [c for c in frame.columns if c not in protected and _is_unit_id(frame[c])]
    return frame.drop(columns=names), [
        DroppedColumn(n, "unit id: unique in every row", restore="new_ids", value=_id_style(frame[n]))
        for n in names
    ]


def drop_high_cardinality(
    frame: pd.DataFrame, protected: set[str], categorical: set[str]
) -> tuple[pd.DataFrame, list[DroppedColumn]]:
    """Text (or declared categorical) columns with more than ``MAX_CATEGORIES`` levels - postcodes,
    free text, names - identify pupils and cannot be modelled; released as empty columns."""
    names = [
        c
        for c in frame.columns
        if c not in protected
        and (c in categorical or not pd.api.types.is_numeric_dtype(frame[c]))
        and frame[c].nunique() > MAX_CATEGORIES
    ]
    return frame.drop(columns=names), [
        DroppedColumn(
            n,
            f"high-cardinality categorical: {frame[n].nunique():,} levels (> {MAX_CATEGORIES}) "
            "identify pupils",
            restore="missing",
        )
        for n in names
    ]


def _describes(frame: pd.DataFrame, text: str, other: str) -> bool:
    pairs = frame[[text, other]].astype("object").fillna("\0").drop_duplicates()
    return pairs[text].is_unique and pairs[other].is_unique


def drop_descriptors(frame: pd.DataFrame, protected: set[str]) -> tuple[pd.DataFrame, list[DroppedColumn]]:
    """Text columns in one-to-one correspondence with another column (e.g. a label of a code)."""
    dropped: list[DroppedColumn] = []
    levels = frame.nunique(dropna=False)
    for text in frame.columns:
        if text in protected or pd.api.types.is_numeric_dtype(frame[text]):
            continue
        kept = [c for c in frame.columns if c != text and c not in {d.name for d in dropped}]
        for other in kept:
            if levels[other] == levels[text] and _describes(frame, text, other):
                pairs = frame[[other, text]].drop_duplicates()
                mapping = {value_key(k): v for k, v in zip(pairs[other], pairs[text], strict=True)}
                dropped.append(
                    DroppedColumn(
                        text, f"descriptor of {other!r}", restore="describe", source=other, mapping=mapping
                    )
                )
                break
    return frame.drop(columns=[d.name for d in dropped]), dropped


def coerce_numeric_text(
    frame: pd.DataFrame,
    protected_text: set[str],
    share: float = NUMERIC_PARSE_SHARE,
    repairs: list | None = None,
) -> pd.DataFrame:
    """Text columns that hold numbers become numeric; stray non-numbers become missing (warned,
    and listed in ``repairs`` when given, for the catalogue)."""
    frame = frame.copy()
    for name in frame.columns:
        column = frame[name]
        if name in protected_text or pd.api.types.is_numeric_dtype(column):
            continue
        present = column.dropna()
        parsed = pd.to_numeric(present, errors="coerce")
        parsed_share = parsed.notna().mean() if len(present) else 0.0
        if parsed_share >= share:
            bad = int(parsed.isna().sum())
            if bad:
                message = f"column {name!r}: {bad} non-numeric values set to missing (mixed types)"
                warnings.warn(message, stacklevel=2)
                if repairs is not None:
                    repairs.append(message)
            frame[name] = pd.to_numeric(column, errors="coerce")
    return frame


def infer_kind(column: pd.Series, categorical: bool) -> Kind:
    values = column.dropna().unique()
    if len(values) == 2:
        return "binary"
    if categorical or not pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
        return "categorical"
    return "continuous"


def _check_roles(frame: pd.DataFrame, trial_id: str, treatment: str, outcomes: Iterable[str]) -> None:
    for name in [treatment, *outcomes]:
        if name not in frame.columns:
            raise TrialDataError(f"trial {trial_id!r}: column {name!r} is not in the data")
    for name in outcomes:
        if frame[name].isna().all():
            raise TrialDataError(
                f"trial {trial_id!r}: outcome column {name!r} has no values (every row is missing)"
            )
    arms = frame[treatment].dropna().unique()
    if len(arms) == 0:
        raise TrialDataError(
            f"trial {trial_id!r}: treatment column {treatment!r} is missing in every row "
            "(key 'treatment' must name the arm column)"
        )
    if len(arms) == 1:
        raise TrialDataError(
            f"trial {trial_id!r}: treatment column {treatment!r} holds one arm only: a trial "
            "needs at least 2 arms (key 'treatment' must name the arm column)"
        )


CONTROL_LABELS = ("control", "ctrl", "placebo", "comparison", "business as usual", "usual care", "bau")


def arm_sizes(
    column: pd.Series, reference: object = None, trial_id: str = ""
) -> tuple[tuple[object, int], ...]:
    """``(arm, rows)`` for every arm, the reference arm first, then the others in sorted order.

    The reference arm is the manifest's ``reference_arm`` when given (matched as text, so 0 and
    "0" alike), else an arm labelled like a control (``CONTROL_LABELS``, any case), else the
    first arm in sorted order (0 of a 0/1 coding)."""
    counts = column.value_counts(dropna=True)
    try:
        levels = sorted(counts.index)
    except TypeError:
        levels = sorted(counts.index, key=str)
    text = {_arm_text(level): level for level in levels}
    if reference is not None:
        if _arm_text(reference) not in text:
            raise TrialDataError(
                f"trial {trial_id!r}: key 'reference_arm': {reference!r} is not an arm of "
                f"{column.name!r} (arms: {', '.join(map(str, text))})"
            )
        first = text[_arm_text(reference)]
    else:
        first = next((text[t] for t in text if t.lower() in CONTROL_LABELS), levels[0])
    ordered = [first, *(level for level in levels if level != first)]
    return tuple((plain(level), int(counts[level])) for level in ordered)


def _arm_text(value: object) -> str:
    return as_label(value).strip()


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


def drop_unit(
    frame: pd.DataFrame, unit: str | None, trial_id: str
) -> tuple[pd.DataFrame, list[DroppedColumn]]:
    """A long-format file's pupil id: never synthesised; the released file gets fresh ids that
    group its rows into pupils as many rows each as the real file's pupils have (``restore``)."""
    if not unit:
        return frame, []
    if frame[unit].isna().any():
        raise TrialDataError(f"trial {trial_id!r}: key 'unit': column {unit!r} has missing values")
    per_unit = frame[unit].value_counts().value_counts().sort_index()
    mapping = {int(rows): int(units) for rows, units in per_unit.items()}
    style = _id_style(frame[unit])
    reason = (
        f"pupil id of a long-format file: {frame[unit].nunique():,} pupils, "
        f"{len(frame) / frame[unit].nunique():.2f} rows each on average"
    )
    return frame.drop(columns=[unit]), [
        DroppedColumn(unit, reason, restore="units", value=style, mapping=mapping)
    ]


def clean(
    frame: pd.DataFrame,
    *,
    trial_id: str,
    treatment: str,
    outcomes: list[str],
    cluster: str | None = None,
    drop: Iterable[str] = (),
    categorical: Iterable[str] = (),
    tcap_key: Iterable[str] = (),
    tcap_target: str | None = None,
    continuous: Iterable[str] = (),
    unit: str | None = None,
    keys: Iterable[str] = (),
    reference_arm: object = None,
) -> tuple[pd.DataFrame, TrialMeta]:
    """Apply Appendix A: returns the cleaned frame and its metadata (kinds, roles, drops).

    The treatment is categorical whatever its coding (k >= 2 arms); rows whose treatment is
    missing (pupils never randomised) are kept, the missing arm synthesised as a state of its own.
    """
    _check_roles(frame, trial_id, treatment, outcomes)
    original_columns = list(frame.columns)
    protected = {treatment, *outcomes, *([cluster] if cluster else [])}
    categorical = set(categorical) | {treatment} | ({cluster} if cluster else set())
    continuous = set(continuous) - categorical
    dropped: list[DroppedColumn] = []
    frame, d = drop_listed(frame, drop)
    dropped += d
    frame, d = drop_unit(frame, unit, trial_id)
    dropped += d
    for step in (drop_empty, drop_constant):
        frame, d = step(frame, protected)
        dropped += d
    repairs: list[str] = []
    frame = coerce_numeric_text(frame, protected_text=categorical, repairs=repairs)
    frame, d = drop_unit_ids(frame, protected)
    dropped += d
    check_identifiers(frame, trial_id, declared=protected | categorical | continuous)
    frame, d = drop_high_cardinality(frame, protected, categorical)
    dropped += d
    frame, d = drop_descriptors(frame, protected)
    dropped += d
    kinds = {name: infer_kind(frame[name], name in categorical) for name in frame.columns}
    frame = frame.copy()
    for name, kind in kinds.items():
        if kind != "continuous" and not pd.api.types.is_numeric_dtype(frame[name]):
            frame[name] = frame[name].astype("object")
    meta = TrialMeta(
        kinds=kinds,
        treatment=treatment,
        outcomes=tuple(outcomes),
        cluster=cluster,
        dropped=tuple(dropped),
        tcap_key=tuple(k for k in tcap_key if k in kinds),
        tcap_target=tcap_target if tcap_target in kinds else None,
        original_columns=tuple(original_columns),
        repairs=tuple(repairs),
        arms=arm_sizes(frame[treatment], reference_arm, trial_id),
        unrandomised=int(frame[treatment].isna().sum()),
        keys=tuple(k for k in keys if k in kinds),
    )
    return frame.reset_index(drop=True), meta


def clean_planned(frame: pd.DataFrame, plan: TrialPlan) -> tuple[pd.DataFrame, TrialMeta]:
    """``clean`` with the column roles of a trial's plan."""
    roles = plan.roles
    return clean(
        frame,
        trial_id=plan.trial_id,
        treatment=roles.treatment,
        outcomes=list(roles.outcomes),
        cluster=roles.cluster,
        drop=roles.drop,
        categorical=roles.categorical,
        tcap_key=roles.tcap_key,
        tcap_target=roles.tcap_target,
        continuous=(*roles.continuous, *(name for name, _ in plan.bounds)),  # bounded: a measurement
        unit=roles.unit,
        keys=roles.keys,
        reference_arm=roles.reference_arm,
    )


def clean_public(frame: pd.DataFrame, plan: TrialPlan) -> tuple[pd.DataFrame, TrialMeta]:
    """A differentially private trial's cleaning: every decision from the plan's public domain,
    none from the data. The domain's columns are kept, each value mapped on its own
    (``trialsynth.dp.domain.conform``); the manifest's drops stay out; every other column of the
    file is released empty. Nothing real is put back into the released file.

    ``arms`` and ``unrandomised`` are counted for the catalogue's design record and the
    evaluation (secure side); they decide nothing about the release."""
    from trialsynth.dp.domain import conform, domain_formats, level_codes

    domain, roles = plan.domain, plan.roles
    if domain is None:
        raise TrialDataError(
            f"trial {plan.trial_id!r}: a differentially private method needs the trial's public "
            "domain: declare it under the key 'domain' or 'codebook'"
        )
    absent = [name for name in domain.names if name not in frame.columns]
    if absent:
        raise TrialDataError(f"trial {plan.trial_id!r}: key 'domain': columns {absent} are not in the data")
    data = conform(frame, domain)
    for column in domain.columns:  # declared labels: each value as its level, or missing
        if not column.continuous and column.levels is not None:
            codes = level_codes(data[column.name], column.levels)
            levels = np.asarray((*column.levels, None), dtype=object)
            data[column.name] = pd.Series(levels[codes], index=data.index, dtype=object)
    for name, (_, places) in domain_formats(domain).items():  # numeric codes stay numbers, as released
        if places >= 0 and not domain.column(name).continuous:
            data[name] = pd.to_numeric(data[name]).astype("float64")
    dropped = [DroppedColumn(n, "listed in the manifest's drop") for n in roles.drop if n in frame.columns]
    dropped += [
        DroppedColumn(n, "not in the trial's public domain: released empty", restore="missing")
        for n in frame.columns
        if n not in domain.names and n not in roles.drop
    ]
    treatment = domain.column(roles.treatment)
    arms_order = (
        list(treatment.levels)
        if treatment.levels is not None
        else sorted(data[roles.treatment].dropna().unique().tolist(), key=str)
    )
    counts = data[roles.treatment].value_counts()
    reference = _public_reference(arms_order, roles.reference_arm)
    ordered = [reference, *(arm for arm in arms_order if arm != reference)] if arms_order else []
    meta = TrialMeta(
        kinds=domain.kinds(),
        treatment=roles.treatment,
        outcomes=roles.outcomes,
        cluster=roles.cluster,
        dropped=tuple(dropped),
        tcap_key=tuple(k for k in roles.tcap_key if k in domain.names),
        tcap_target=roles.tcap_target if roles.tcap_target in domain.names else None,
        original_columns=tuple(frame.columns),
        arms=tuple((plain(arm), int(counts.get(arm, 0))) for arm in ordered),
        unrandomised=int(data[roles.treatment].isna().sum()),
        keys=tuple(k for k in roles.keys if k in domain.names),
        domain=domain,
    )
    return data.reset_index(drop=True), meta


def _public_reference(levels: list, reference: object) -> object:
    """The reference arm among the declared arms: the manifest's, else a control label, else the first."""
    if not levels:
        return None
    text = {_arm_text(level): level for level in levels}
    if reference is not None and _arm_text(reference) in text:
        return text[_arm_text(reference)]
    return next((text[t] for t in text if t.lower() in CONTROL_LABELS), levels[0])
