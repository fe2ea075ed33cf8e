"""A DP release's noisy measurements, kept so that the file can be made again without new spending.

Everything a marginal method (MST, AIM) learns from the rows passes through its noisy
measurements; what follows them - estimating a model, drawing rows, decoding - is post-processing
and spends nothing (Dwork & Roth 2014, Proposition 2.1). A release therefore stores, beside the
catalogue and never in the released folder, what it measured: each measurement (its columns, the
noisy counts, the noise scale), the completed public domain, the bins, the compression of rare
values, the selections and the accounting. A later release with the
same measurement key - the same data, declared domain, epsilon, delta, method settings that shape
the measurements, and the method's own measurement version - estimates and samples from these
instead of measuring again: no ledger row, recorded as "from stored measurements".

The file is plain JSON (``FORMAT``): numbers and lists only, readable without this code or mbi's
version (mbi's own serialisation is tied to the library version). It holds no real count: every
array in it carries the mechanism's noise. The secret order of school labels is not stored; a
re-release draws a new one.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

FORMAT = "trialsynth-dp-measurements/1"
FOLDER = "measurements"  # under the home that holds the catalogue's caches (RunContext.cache_dir)


@dataclass(frozen=True)
class Measurement:
    """One noisy marginal: its columns, noisy counts and noise scale; ``compressed``: over the
    compressed codes (else over the bins' own codes, as the one-way marginals are measured)."""

    clique: tuple[str, ...]
    sigma: float
    noisy: tuple[float, ...] = field(repr=False)
    compressed: bool = True


@dataclass(frozen=True)
class StoredMeasurements:
    """What a marginal method measured, as stored (see the module)."""

    method: str
    measurement_version: str
    key: str  # ``measurement_key`` of the inputs that decided the measurements
    n: int  # the public row count
    domain: dict[str, Any]  # the completed public domain (``PublicDomain.describe``)
    n_bins: int
    mapping: dict[str, list[int]]  # original code -> compressed code, per column, in model order
    measurements: list[Measurement]
    budget: dict[str, Any]  # ``dp.accounting.Budget``'s fields
    record: dict[str, Any]  # the method's own: selections, sigmas, rounds
    charged: dict[str, Any] = field(default_factory=dict)  # the ledger row that paid: attempt, identity

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["format"] = FORMAT
        out["measurements"] = [
            {"clique": list(m.clique), "sigma": m.sigma, "noisy": list(m.noisy), "compressed": m.compressed}
            for m in self.measurements
        ]
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StoredMeasurements:
        if data.get("format") != FORMAT:
            raise ValueError(f"not a stored-measurements file of format {FORMAT!r}: {data.get('format')!r}")
        fields = {k: v for k, v in data.items() if k != "format"}
        fields["measurements"] = [
            Measurement(
                tuple(m["clique"]),
                float(m["sigma"]),
                tuple(float(v) for v in m["noisy"]),
                bool(m["compressed"]),
            )
            for m in data["measurements"]
        ]
        return cls(**fields)


def measurement_key(parts: dict[str, Any]) -> str:
    """The SHA-256 of what decides a release's measurements (``parts`` as JSON, sorted)."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


class MeasurementStore:
    """Stored measurements under ``root`` (``<home>/measurements``), one JSON file per key in a
    folder per archive and trial; written atomically (a half-written file is never read)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, archive: str, trial_id: str, key: str) -> Path:
        return self.root / _safe(archive) / _safe(trial_id) / f"{key}.json"

    def load(self, archive: str, trial_id: str, key: str) -> tuple[StoredMeasurements, str] | None:
        """The measurements stored under ``key`` and the SHA-256 of the very bytes they were read
        from (None: none, or a file that does not read as one)."""
        path = self.path(archive, trial_id, key)
        if not path.is_file():
            return None
        content = path.read_bytes()
        try:
            stored = StoredMeasurements.from_json(json.loads(content))
        except (ValueError, KeyError, TypeError):
            return None
        return (stored, hashlib.sha256(content).hexdigest()) if stored.key == key else None

    def save(self, archive: str, trial_id: str, stored: StoredMeasurements) -> Path:
        path = self.path(archive, trial_id, stored.key)
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".part")
        try:
            with os.fdopen(handle, "w") as out:
                json.dump(stored.to_json(), out)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return path


def _safe(name: str) -> str:
    """A name as one path component (an archive or trial id never climbs out of the store)."""
    cleaned = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in str(name)).strip(".")
    return cleaned or "_"
