"""Reading and writing attempts; every function takes the session (or sessionmaker) first."""

from __future__ import annotations

import logging
import threading
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from trialsynth.catalogue.models import Attempt
from trialsynth.metrics import RECORD_METRIC_KEYS
from trialsynth.owner import is_gone, this_process

log = logging.getLogger(__name__)

PUBLIC_FIELDS = (
    "trial_id",
    "run_id",
    "status",
    "method",
    "route_reason",
    "n_rows",
    "n_cols",
    "epsilon",
    "ons_category",
    "metrics",
    "error",
    "output_path",
    "seed",
    "started_at",
    "finished_at",
    "duration_s",
    "code_version",
)


HEARTBEAT_SECONDS = 30  # a running attempt refreshes heartbeat_at this often
LEASE_SECONDS = 300  # a running attempt silent this long belongs to a process that died


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def start_attempt(sessions: sessionmaker, **fields: Any) -> int:
    """Record a new attempt as ``running``; returns its id."""
    with sessions.begin() as session:
        now = datetime.now(UTC)
        attempt = Attempt(status="running", started_at=now, heartbeat_at=now, owner=this_process(), **fields)
        session.add(attempt)
        session.flush()
        return attempt.id


def finish_attempt(sessions: sessionmaker, attempt_id: int, **fields: Any) -> None:
    """Record the outcome of an attempt (status, metrics, error, ...) and its duration."""
    with sessions.begin() as session:
        attempt = session.get(Attempt, attempt_id)
        finished = datetime.now(UTC)
        attempt.finished_at = finished
        started = _aware(attempt.started_at)
        attempt.duration_s = round((finished - started).total_seconds(), 3)
        for key, value in fields.items():
            setattr(attempt, key, value)


def beat(sessions: sessionmaker, attempt_id: int) -> None:
    """Renew a running attempt's lease."""
    with sessions.begin() as session:
        session.get(Attempt, attempt_id).heartbeat_at = datetime.now(UTC)


@contextmanager
def heartbeat(sessions: sessionmaker, attempt_id: int, every: float = HEARTBEAT_SECONDS):
    """Renew the attempt's lease from a background thread while the block runs."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(every):
            try:
                beat(sessions, attempt_id)
            except Exception:  # noqa: BLE001 - a missed beat must not kill the trial
                log.warning("heartbeat of attempt %s failed", attempt_id, exc_info=True)

    thread = threading.Thread(target=loop, name=f"heartbeat-{attempt_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


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


def fail_attempt_of(sessions: sessionmaker, job, reason: str, archive: str) -> None:
    """Fail the attempt ``job`` (run id, trial id) left running - or record a failed one when its
    process died before it could start one."""
    from trialsynth.versions import code_version

    with sessions.begin() as session:
        running = session.scalars(
            select(Attempt).where(
                Attempt.run_id == job.run_id, Attempt.trial_id == job.trial_id, Attempt.status == "running"
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
                run_id=job.run_id,
                archive=archive,
                trial_id=job.trial_id,
                status="failed",
                error=reason,
                started_at=now,
                finished_at=now,
                duration_s=0.0,
                code_version=code_version(),
            )
        )


def latest_attempts(
    session: Session, trial_ids: list[str] | None = None, archive: str | None = None
) -> list[Attempt]:
    """The most recent attempt of every trial (or of the given trials, or of one archive)."""
    newest = select(Attempt.trial_id, func.max(Attempt.id).label("id")).group_by(Attempt.trial_id)
    if trial_ids:
        newest = newest.where(Attempt.trial_id.in_(trial_ids))
    if archive is not None:
        newest = newest.where(Attempt.archive == archive)
    sub = newest.subquery()
    query = select(Attempt).join(sub, Attempt.id == sub.c.id).order_by(Attempt.trial_id)
    return list(session.scalars(query))


def failed_trials(sessions: sessionmaker, archive: str) -> list[str]:
    """Trials of ``archive`` whose latest attempt failed, after failing the attempts a dead
    process left running (so those are rerun too)."""
    expire_stale(sessions)
    with sessions() as session:
        return [a.trial_id for a in latest_attempts(session, archive=archive) if a.status == "failed"]


def history(session: Session, trial_ids: list[str] | None = None) -> list[Attempt]:
    query = select(Attempt).order_by(Attempt.trial_id, Attempt.id)
    if trial_ids:
        query = query.where(Attempt.trial_id.in_(trial_ids))
    return list(session.scalars(query))


def run_attempts(session: Session, run_id: str) -> list[Attempt]:
    return list(session.scalars(select(Attempt).where(Attempt.run_id == run_id).order_by(Attempt.id)))


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()


def as_record(attempt: Attempt) -> dict[str, Any]:
    """The public JSON shape of an attempt (SPEC's ``catalogue --json`` fields, and more)."""
    metrics = attempt.metrics or {}
    record = {name: getattr(attempt, name) for name in PUBLIC_FIELDS}
    record["metrics"] = {key: metrics.get(key) for key in RECORD_METRIC_KEYS} if attempt.metrics else None
    record["started_at"] = _iso(attempt.started_at)
    record["finished_at"] = _iso(attempt.finished_at)
    record.update(
        archive=attempt.archive,
        attempt_id=attempt.id,
        category_rules=attempt.category_rules,
        params=attempt.params,
        cleaning=attempt.cleaning,
        timings=attempt.timings,
        gate=attempt.gate,
        lineage=attempt.lineage,
    )
    return record


def audit_record(attempt: Attempt) -> dict[str, Any]:
    """The lineage of one synthetic file: everything needed to say how it was made."""
    cleaning = attempt.cleaning or {}
    lineage = attempt.lineage or {}
    return {
        "trial_id": attempt.trial_id,
        "archive": attempt.archive,
        "run_id": attempt.run_id,
        "attempt_id": attempt.id,
        "status": attempt.status,
        "output_path": attempt.output_path,
        "input_sha256": cleaning.get("input_sha256"),
        "manifest_entry_sha256": lineage.get("manifest_entry_sha256"),
        "code_version": attempt.code_version,
        "packages": lineage.get("packages"),
        "seed": attempt.seed,
        "method": attempt.method,
        "route_reason": attempt.route_reason,
        "params": attempt.params,
        "epsilon": attempt.epsilon,
        "metrics": attempt.metrics,
        "ons_category": attempt.ons_category,
        "category_rules": attempt.category_rules,
        "gate": attempt.gate,
        "finished_at": _iso(attempt.finished_at),
    }


def select_attempts(
    session: Session,
    *,
    trial_ids: list[str] | None = None,
    archive: str | None = None,
    method: str | None = None,
    category: str | None = None,
    status: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    every_attempt: bool = False,
) -> list[Attempt]:
    """Audit query: the latest attempt per trial (or every attempt), filtered. ``since`` and
    ``until`` bound the attempt's start time (``until`` exclusive)."""
    attempts = (history if every_attempt else latest_attempts)(session, trial_ids)
    chosen = []
    for attempt in attempts:
        started = _aware(attempt.started_at)
        if (
            (archive is None or attempt.archive == archive)
            and (method is None or attempt.method == method)
            and (category is None or attempt.ons_category == category)
            and (status is None or attempt.status == status)
            and (since is None or started >= since)
            and (until is None or started < until)
        ):
            chosen.append(attempt)
    return chosen
