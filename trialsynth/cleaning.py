"""Appendix A of the study as small pure functions: drop what need not be synthesised, fix types.

Every drop is recorded with its reason. Missing values stay missing in the cleaned frame (they
are a feature of the data): each synthesiser encodes them its own way (see ``encode_missing``).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from trialsynth.errors import TrialDataError
from trialsynth.meta import DroppedColumn, Kind, TrialMeta

NA_CATEGORY = "NA"
MISSING_SUFFIX = "__missing"
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


def _key(value: object) -> object:
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
                mapping = {_key(k): v for k, v in zip(pairs[other], pairs[text], strict=True)}
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
    if frame[treatment].isna().any():
        count = int(frame[treatment].isna().sum())
        raise TrialDataError(f"trial {trial_id!r}: treatment column {treatment!r} has {count} missing values")
    if frame[treatment].nunique() != 2:
        raise TrialDataError(
            f"trial {trial_id!r}: treatment column {treatment!r} must have exactly 2 arms, "
            f"found {frame[treatment].nunique()}"
        )


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
) -> tuple[pd.DataFrame, TrialMeta]:
    """Apply Appendix A: returns the cleaned frame and its metadata (kinds, roles, drops)."""
    _check_roles(frame, trial_id, treatment, outcomes)
    original_columns = list(frame.columns)
    protected = {treatment, *outcomes, *([cluster] if cluster else [])}
    categorical = set(categorical) | ({cluster} if cluster else set())
    dropped: list[DroppedColumn] = []
    frame, d = drop_listed(frame, drop)
    dropped += d
    for step in (drop_empty, drop_constant):
        frame, d = step(frame, protected)
        dropped += d
    repairs: list[str] = []
    frame = coerce_numeric_text(frame, protected_text=categorical, repairs=repairs)
    frame, d = drop_unit_ids(frame, protected)
    dropped += d
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
    )
    return frame.reset_index(drop=True), meta


def encode_missing_categories(frame: pd.DataFrame, names: Iterable[str]) -> pd.DataFrame:
    """Categorical NA becomes its own category, ``NA_CATEGORY``; values become text."""
    frame = frame.copy()
    for name in names:
        text = frame[name].map(_as_label, na_action="ignore")
        frame[name] = text.astype("object").where(frame[name].notna(), NA_CATEGORY)
    return frame


def _as_label(value: object) -> str:
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def decode_missing_categories(synthetic: pd.DataFrame, labels: Mapping[str, Iterable]) -> pd.DataFrame:
    """Undo ``encode_missing_categories``: the NA category becomes missing, labels real values."""
    synthetic = synthetic.copy()
    for name, values in labels.items():
        lookup = {_as_label(v): v for v in values}
        synthetic[name] = synthetic[name].astype("object").map(lambda v, m=lookup: m.get(str(v), np.nan))
    return synthetic


def add_missing_indicators(frame: pd.DataFrame, names: Iterable[str]) -> pd.DataFrame:
    """Add a 0/1 ``<name>__missing`` column for each numeric column that has missing values."""
    frame = frame.copy()
    for name in names:
        if frame[name].isna().any():
            frame[name + MISSING_SUFFIX] = frame[name].isna().astype(int)
    return frame


def apply_missing_indicators(frame: pd.DataFrame) -> pd.DataFrame:
    """Blank every value whose indicator says missing, then drop the indicator columns."""
    frame = frame.copy()
    for indicator in [c for c in frame.columns if c.endswith(MISSING_SUFFIX)]:
        name = indicator[: -len(MISSING_SUFFIX)]
        frame.loc[frame[indicator].astype(int) == 1, name] = np.nan
        frame = frame.drop(columns=indicator)
    return frame


def restore_dropped(synthetic: pd.DataFrame, meta: TrialMeta) -> pd.DataFrame:
    """Put Appendix A's dropped columns back, in the original column order, so a released file
    has the real file's layout: empty columns empty, constants constant, descriptors derived from
    the synthetic column they describe, unit ids fresh (1..n, never real). Manifest drops stay out.
    """
    synthetic = synthetic.copy()
    n = len(synthetic)
    for dropped in meta.dropped:
        if dropped.restore == "missing":
            synthetic[dropped.name] = np.nan
        elif dropped.restore == "constant":
            synthetic[dropped.name] = [dropped.value] * n
        elif dropped.restore == "new_ids":
            ids = np.arange(1, n + 1)
            synthetic[dropped.name] = ids if dropped.value == "integer" else [f"S{i:07d}" for i in ids]
        elif dropped.restore == "describe" and dropped.source in synthetic:
            mapping = dropped.mapping or {}
            synthetic[dropped.name] = synthetic[dropped.source].map(lambda v, m=mapping: m.get(_key(v)))
    order = [c for c in meta.original_columns if c in synthetic.columns]
    return synthetic[order] if order else synthetic
