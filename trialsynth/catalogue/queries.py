"""Reading and writing attempts; every function takes the session (or sessionmaker) first."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from trialsynth.catalogue.models import Attempt
from trialsynth.metrics import METRIC_KEYS

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


def start_attempt(sessions: sessionmaker, **fields: Any) -> int:
    """Record a new attempt as ``running``; returns its id."""
    with sessions.begin() as session:
        attempt = Attempt(status="running", started_at=datetime.now(UTC), **fields)
        session.add(attempt)
        session.flush()
        return attempt.id


def finish_attempt(sessions: sessionmaker, attempt_id: int, **fields: Any) -> None:
    """Record the outcome of an attempt (status, metrics, error, ...) and its duration."""
    with sessions.begin() as session:
        attempt = session.get(Attempt, attempt_id)
        finished = datetime.now(UTC)
        attempt.finished_at = finished
        started = attempt.started_at if attempt.started_at.tzinfo else attempt.started_at.replace(tzinfo=UTC)
        attempt.duration_s = round((finished - started).total_seconds(), 3)
        for key, value in fields.items():
            setattr(attempt, key, value)


def latest_attempts(session: Session, trial_ids: list[str] | None = None) -> list[Attempt]:
    """The most recent attempt of every trial (or of the given trials), by trial id."""
    newest = select(Attempt.trial_id, func.max(Attempt.id).label("id")).group_by(Attempt.trial_id)
    if trial_ids:
        newest = newest.where(Attempt.trial_id.in_(trial_ids))
    sub = newest.subquery()
    query = select(Attempt).join(sub, Attempt.id == sub.c.id).order_by(Attempt.trial_id)
    return list(session.scalars(query))


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
    record["metrics"] = {key: metrics.get(key) for key in METRIC_KEYS} if attempt.metrics else None
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
    )
    return record
