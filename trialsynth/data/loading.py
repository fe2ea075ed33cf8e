"""Reading trial data (CSV or Parquet) with errors that name the trial and the file."""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from trialsynth.data.files import sha256_of
from trialsynth.errors import TrialDataError
from trialsynth.plan import TrialPlan


def _is_parquet(path: Path) -> bool:
    return path.suffix.lower() in (".parquet", ".pq")


def read_columns(path: Path) -> list[str]:
    """The column names of a data file, reading only its header or schema."""
    try:
        if _is_parquet(path):
            return list(pq.read_schema(path).names)
        return list(pd.read_csv(path, nrows=0).columns)
    except pd.errors.EmptyDataError:
        raise TrialDataError(f"{path.name}: the file is empty (no header)") from None
    except Exception as exc:  # noqa: BLE001 - any reader failure is a data problem
        raise TrialDataError(f"{path.name}: cannot read the header: {exc}") from None


def load_trial_data(path: Path, trial_id: str = "") -> tuple[pd.DataFrame, str]:
    """Load one trial's data and the SHA-256 of the exact bytes parsed (lineage, and the identity
    of a DP release's input); raises TrialDataError naming the trial and file."""
    label = f"trial {trial_id!r}: " if trial_id else ""
    if not path.is_file():
        raise TrialDataError(f"{label}data file not found: {path}")
    raw = path.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    try:
        frame = pd.read_parquet(io.BytesIO(raw)) if _is_parquet(path) else pd.read_csv(io.BytesIO(raw))
    except pd.errors.EmptyDataError:
        raise TrialDataError(f"{label}{path.name}: the file is empty") from None
    except Exception as exc:  # noqa: BLE001
        raise TrialDataError(f"{label}{path.name}: cannot be parsed: {exc}") from None
    if frame.empty:
        raise TrialDataError(f"{label}{path.name}: the file has a header but no rows")
    duplicated = frame.columns[frame.columns.duplicated()].tolist()
    if not _is_parquet(path):  # pandas renames repeated CSV headers (a, a.1): read the header itself
        header = next(csv.reader(io.StringIO(raw.decode("utf-8", errors="replace").split("\n", 1)[0])), [])
        duplicated = sorted({name for name in header if header.count(name) > 1})
    if duplicated:
        raise TrialDataError(f"{label}{path.name}: duplicate column names: {duplicated}")
    return frame, digest


@dataclass(frozen=True)
class Loaded:
    """The trial's file as read (real rows: never recorded) and the SHA-256 of its bytes."""

    frame: pd.DataFrame = field(repr=False)
    data_hash: str

    def record(self) -> dict[str, Any]:
        return {"cleaning": {"input_sha256": self.data_hash}}


def file_hash(plan: TrialPlan) -> str:
    """SHA-256 of the trial's data file, without parsing it (the release identity's data part)."""
    assert plan.data_path is not None
    if not plan.data_path.is_file():
        raise TrialDataError(f"trial {plan.trial_id!r}: data file not found: {plan.data_path}")
    return sha256_of(plan.data_path)


def load(plan: TrialPlan) -> Loaded:
    """Read the trial's data file (CSV or Parquet)."""
    assert plan.data_path is not None  # a plan without data takes the outputs-only steps
    frame, data_hash = load_trial_data(plan.data_path, plan.trial_id)
    return Loaded(frame, data_hash)
