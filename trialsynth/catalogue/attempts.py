"""The life of an attempt in the catalogue: started ``running``, finished, or failed when its
process died. Every function takes the sessionmaker first."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from trialsynth.catalogue.heartbeat import HEARTBEAT_SECONDS, LEASE_SECONDS, heartbeat
from trialsynth.catalogue.models import Attempt
from trialsynth.owner import is_gone, this_process

__all__ = [
    "HEARTBEAT_SECONDS",
    "LEASE_SECONDS",
    "expire_stale",
    "fail_attempt_of",
    "finish_attempt",
    "heartbeat",
    "start_attempt",
    "unchanged_record",
    "update_attempt",
]

# An unchanged attempt copies what the released file's attempt settled about it - every column
# but the attempt's own (its run, times, owner, code, status, error, lineage, identity).
ATTEMPT_OWN_FIELDS = frozenset(
    {
        "id",
        "run_id",
        "archive",
        "trial_id",
        "status",
        "error",
        "seed",
        "started_at",
        "heartbeat_at",
        "owner",
        "finished_at",
        "duration_s",
        "code_version",
        "timings",
        "lineage",
        "release_identity",
    }
)


def columns() -> frozenset[str]:
    """The names of the attempt's catalogue columns."""
    return frozenset(Attempt.__table__.columns.keys())


def _checked(fields: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(fields) - columns())
    if unknown:
        raise ValueError(f"attempt fields {unknown} are not columns of the catalogue's attempts")
    return fields


def unchanged_record(source: dict[str, Any]) -> dict[str, Any]:
    """The record of an attempt that repeats ``source`` (a released attempt with the same release
    identity, as a dict of its columns): what ``source`` settled about the file, with this
    attempt's own status and the attempt it repeats."""
    copied = {key: value for key, value in source.items() if key not in ATTEMPT_OWN_FIELDS}
    lineage = {"unchanged_since": {"attempt_id": source["id"], "run_id": source["run_id"]}}
    params = copied.get("params") or {}
    if "epsilon_newly_spent" in params or copied.get("epsilon") is not None:
        # its own spend, not the release's: nothing was fitted or charged by this attempt
        copied["params"] = {
            **params,
            "epsilon_newly_spent": 0.0,
            "ledger": f"not charged: repeats the release of attempt {source['id']} "
            f"(run {source['run_id']}), whose spend is in the ledger once",
        }
    return {**copied, "status": "unchanged", "error": None, "lineage": lineage}


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def start_attempt(sessions: sessionmaker, **fields: Any) -> int:
    """Record a new attempt as ``running``; returns its id."""
    with sessions.begin() as session:
        now = datetime.now(UTC)
        fields = _checked(fields)
        attempt = Attempt(status="running", started_at=now, heartbeat_at=now, owner=this_process(), **fields)
        session.add(attempt)
        session.flush()
        return attempt.id


def finish_attempt(sessions: sessionmaker, attempt_id: int, **fields: Any) -> None:
    """Record the outcome of an attempt (status, metrics, error, ...) and its duration; a field
    that is not a column of the catalogue is refused, never dropped."""
    _checked(fields)
    with sessions.begin() as session:
        attempt = session.get(Attempt, attempt_id)
        finished = datetime.now(UTC)
        attempt.finished_at = finished
        started = _aware(attempt.started_at)
        attempt.duration_s = round((finished - started).total_seconds(), 3)
        for key, value in fields.items():
            setattr(attempt, key, value)


def update_attempt(sessions: sessionmaker, attempt_id: int, **fields: Any) -> None:
    """Set fields of a finished attempt (e.g. where its report was written)."""
    _checked(fields)
    with sessions.begin() as session:
        attempt = session.get(Attempt, attempt_id)
        for key, value in fields.items():
            setattr(attempt, key, value)


def expire_stale(sessions: sessionmaker, lease_seconds: float = LEASE_SECONDS) -> list[str]:
    """Mark ``running`` attempts whose process died as failed, so reruns pick them up; returns
    their trial ids. A process is known dead when its lease ran out (no heartbeat for
    ``lease_seconds``: killed, out of memory, machine lost) or, on this host, at once when its
    pid no longer exists."""
    now = datetime.now(UTC)
    expired = []
    with sessions.begin() as session:
        for attempt in session.scalars(select(Attempt).where(Attempt.status == "running")):
            last = _aware(attempt.heartbeat_at or attempt.started_at)
            if (now - last).total_seconds() > lease_seconds:
                attempt.error = (
                    f"stale: the process running this attempt stopped (last heartbeat {last.isoformat()})"
                )
            elif is_gone(attempt.owner):
                attempt.error = f"stale: the process running this attempt ({attempt.owner}) is gone"
            else:
                continue
            attempt.status = "failed"
            attempt.finished_at = now
            attempt.duration_s = round((now - _aware(attempt.started_at)).total_seconds(), 3)
            expired.append(attempt.trial_id)
    return expired


def fail_attempt_of(
    sessions: sessionmaker, *, run_id: str, archive: str, trial_id: str, reason: str, code_version: str
) -> None:
    """Fail the attempt of ``run_id`` and ``trial_id`` left running - or record a failed one when
    its process died before it could start one."""
    with sessions.begin() as session:
        running = session.scalars(
            select(Attempt).where(
                Attempt.run_id == run_id, Attempt.trial_id == trial_id, Attempt.status == "running"
            )
        ).all()
        now = datetime.now(UTC)
        for attempt in running:
            attempt.status, attempt.error, attempt.finished_at = "failed", reason, now
            attempt.duration_s = round((now - _aware(attempt.started_at)).total_seconds(), 3)
        if running:
            return
        session.add(
            Attempt(
                run_id=run_id,
                archive=archive,
                trial_id=trial_id,
                status="failed",
                error=reason,
                started_at=now,
                finished_at=now,
                duration_s=0.0,
                code_version=code_version,
            )
        )
