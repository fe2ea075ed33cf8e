"""Appendix A of the study as small pure functions: drop what need not be synthesised, fix types.

Every drop is recorded with its reason. Missing values stay missing in the cleaned frame (they
are a feature of the data): each synthesiser encodes them its own way (``trialsynth/missing.py``).
Putting the dropped columns back into a released file is ``trialsynth/restore.py``.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from trialsynth.data.design import arm_sizes, check_roles
from trialsynth.data.identifiers import MAX_CATEGORIES, check_identifiers
from trialsynth.errors import TrialDataError
from trialsynth.meta import DroppedColumn, Kind, TrialMeta
from trialsynth.plan import Roles, TrialPlan


@dataclass(frozen=True)
class Cleaned:
    """The trial after Appendix A's cleaning (``data`` holds real rows: never recorded)."""

    data: pd.DataFrame = field(repr=False)
    meta: TrialMeta
    data_hash: str
    covariates: tuple[str, ...] = ()  # declared covariates of the primary analysis
    units: np.ndarray | None = field(default=None, repr=False)  # long format: each row's pupil id

    def record(self) -> dict[str, Any]:
        meta = self.meta
        cleaning = {
            "dropped": [{"column": d.name, "reason": d.reason, "restored": d.restore} for d in meta.dropped],
            "kinds": meta.kinds,
            "cluster": meta.cluster,
            "repairs": list(meta.repairs),
            "input_sha256": self.data_hash,
            "design": {
                "treatment": meta.treatment,
                "arms": [{"arm": arm, "rows": rows} for arm, rows in meta.arms],
                "reference_arm": meta.reference_arm,
                "unrandomised_rows": meta.unrandomised,
            },
        }
        return {"n_rows": len(self.data), "n_cols": self.data.shape[1], "cleaning": cleaning}


NUMERIC_PARSE_SHARE = 0.95  # a text column whose values are numbers this often becomes numeric


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


def clean(frame: pd.DataFrame, roles: Roles, *, trial_id: str) -> tuple[pd.DataFrame, TrialMeta]:
    """Apply Appendix A with the trial's column ``roles``: returns the cleaned frame and its
    metadata (kinds, roles, drops).

    The treatment is categorical whatever its coding (k >= 2 arms); rows whose treatment is
    missing (pupils never randomised) are kept, the missing arm synthesised as a state of its own.
    """
    treatment, outcomes, cluster = roles.treatment, list(roles.outcomes), roles.cluster
    check_roles(frame, trial_id, treatment, outcomes)
    original_columns = list(frame.columns)
    protected = {treatment, *outcomes, *([cluster] if cluster else [])}
    categorical = set(roles.categorical) | {treatment} | ({cluster} if cluster else set())
    continuous = set(roles.continuous) - categorical
    frame, dropped, repairs = _drop(frame, roles, trial_id, protected, categorical, continuous)
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
        tcap_key=tuple(k for k in roles.tcap_key if k in kinds),
        tcap_target=roles.tcap_target if roles.tcap_target in kinds else None,
        original_columns=tuple(original_columns),
        repairs=tuple(repairs),
        arms=arm_sizes(frame[treatment], roles.reference_arm, trial_id),
        unrandomised=int(frame[treatment].isna().sum()),
        keys=tuple(k for k in roles.keys if k in kinds),
    )
    return frame.reset_index(drop=True), meta


def _drop(
    frame: pd.DataFrame,
    roles: Roles,
    trial_id: str,
    protected: set[str],
    categorical: set[str],
    continuous: set[str],
) -> tuple[pd.DataFrame, list[DroppedColumn], list[str]]:
    """Appendix A's drops in order, each recorded with its reason, and the type repairs made."""
    dropped: list[DroppedColumn] = []
    frame, d = drop_listed(frame, roles.drop)
    dropped += d
    frame, d = drop_unit(frame, roles.unit, trial_id)
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
    return frame, dropped, repairs


def clean_planned(frame: pd.DataFrame, plan: TrialPlan) -> tuple[pd.DataFrame, TrialMeta]:
    """``clean`` with the column roles of a trial's plan (a column with public bounds is a
    measurement)."""
    bounded = tuple(name for name, _ in plan.bounds)
    roles = replace(plan.roles, continuous=(*plan.roles.continuous, *bounded))
    return clean(frame, roles, trial_id=plan.trial_id)
