"""Writing synthetic files atomically (a reader never sees a partial file), and hashing files."""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from trialsynth.owner import file_tag, is_gone
from trialsynth.plan import RunContext, TrialPlan


def sha256_of(path: Path) -> str:
    """The SHA-256 of a file's bytes (read in 1 MiB blocks)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def files_hash(paths: tuple[Path, ...]) -> str:
    """One SHA-256 over the bytes of several files, in order."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(Path(path).read_bytes())
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


@dataclass(frozen=True)
class Written:
    """Where the synthetic file went, and the SHA-256 of its bytes."""

    path: Path
    sha256: str = ""

    def record(self) -> dict[str, Any]:
        return {
            "status": "succeeded",
            "output_path": str(self.path.resolve()),
            "lineage": {"output_sha256": self.sha256},
        }


def write(frame: pd.DataFrame, plan: TrialPlan, context: RunContext) -> Written:
    """The file written atomically where its release goes - or, for a comparison's candidate,
    under ``comparisons/<id>/``, never where a release goes."""
    path = output_path(context.out_dir, plan.archive, plan.trial_id, plan.released_name)
    if context.comparison is not None:
        comparison = context.comparison
        folder = context.out_dir / "comparisons" / comparison.id / plan.archive / plan.trial_id
        path = folder / f"{comparison.label}{path.suffix}"
    written = write_atomically(frame, path)
    return Written(written, sha256_of(written))
