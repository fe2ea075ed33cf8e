"""Writing synthetic files atomically: a reader never sees a partial file."""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from pathlib import Path

import pandas as pd

from trialsynth.owner import file_tag, is_gone


def sha256_of(path: Path) -> str:
    """The SHA-256 of a file's bytes (read in 1 MiB blocks)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def output_path(out_dir: Path, archive: str, trial_id: str, data_name: str) -> Path:
    suffix = ".parquet" if data_name.lower().endswith((".parquet", ".pq")) else ".csv"
    return out_dir / archive / f"{trial_id}{suffix}"


def write_atomically(frame: pd.DataFrame | str, path: Path) -> Path:
    """Write to a temporary file beside ``path``, fsync it, then rename it over ``path``: a
    frame as CSV or Parquet (by the suffix), text as UTF-8."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tag = file_tag()  # lets a later run spot a dead writer's file at once
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{tag}.", suffix=PARTIAL_SUFFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            if isinstance(frame, str):
                handle.write(frame.encode("utf-8"))
            elif path.suffix == ".parquet":
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


PARTIAL_SUFFIX = ".partial"


def _writer(path: Path) -> str | None:
    """The ``host:pid`` a temporary file's name carries (``.name.host@pid.random.partial``)."""
    parts = path.name.split(".")
    owners = [p for p in parts if "@" in p]
    return owners[-1].replace("@", ":") if owners else None


def remove_stale_partials(directory: Path, older_than_s: float = 300.0) -> list[Path]:
    """Delete temporary files a killed writer left behind: at once when the writer was a process
    of this host that no longer exists, otherwise once older than ``older_than_s`` (a writer
    still at work keeps its file); returns what was removed."""
    if not directory.is_dir():
        return []
    cutoff = time.time() - older_than_s
    removed = []
    for path in directory.rglob(f".*{PARTIAL_SUFFIX}"):
        if path.is_file() and (is_gone(_writer(path)) or path.stat().st_mtime < cutoff):
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed
