"""Writing synthetic files atomically: a reader never sees a partial file."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pandas as pd


def output_path(out_dir: Path, archive: str, trial_id: str, data_name: str) -> Path:
    suffix = ".parquet" if data_name.lower().endswith((".parquet", ".pq")) else ".csv"
    return out_dir / archive / f"{trial_id}{suffix}"


def write_atomically(frame: pd.DataFrame, path: Path) -> Path:
    """Write to a temporary file beside ``path``, fsync it, then rename it over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            if path.suffix == ".parquet":
                frame.to_parquet(handle, index=False)
            else:
                frame.to_csv(handle, index=False)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
