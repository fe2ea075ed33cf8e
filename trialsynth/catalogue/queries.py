"""Reading attempts (audit queries, reruns, progress); every function takes the session first."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from trialsynth.catalogue.models import Attempt


def latest_attempts(
    session: Session, trial_ids: list[str] | None = None, archive: str | None = None
) -> list[Attempt]:
    """The most recent attempt of every trial of every archive (or of the given trials, or of one
    archive); a trial is its archive and id."""
    newest = (
        select(func.max(Attempt.id).label("id"))
        .where(Attempt.comparison.is_(None))
        .group_by(Attempt.archive, Attempt.trial_id)
    )
    if trial_ids:
        newest = newest.where(Attempt.trial_id.in_(trial_ids))
    if archive is not None:
        newest = newest.where(Attempt.archive == archive)
    sub = newest.subquery()
    query = select(Attempt).join(sub, Attempt.id == sub.c.id).order_by(Attempt.trial_id, Attempt.archive)
    return list(session.scalars(query))


def failed_trials(session: Session, archive: str) -> list[str]:
    """Trials of ``archive`` whose latest attempt failed. Fail the attempts a dead process left
    running first (``attempts.expire_stale``) so that those count as failed too."""
    return [a.trial_id for a in latest_attempts(session, archive=archive) if a.status == "failed"]


def history(session: Session, trial_ids: list[str] | None = None) -> list[Attempt]:
    query = select(Attempt).where(Attempt.comparison.is_(None)).order_by(Attempt.trial_id, Attempt.id)
    if trial_ids:
        query = query.where(Attempt.trial_id.in_(trial_ids))
    return list(session.scalars(query))


def comparison_attempts(session: Session, comparison: str) -> list[Attempt]:
    """The attempts of one comparison of methods (``trialsynth compare``), in the order run."""
    query = select(Attempt).where(Attempt.comparison == comparison).order_by(Attempt.id)
    return list(session.scalars(query))


def run_attempts(session: Session, run_id: str) -> list[Attempt]:
    return list(session.scalars(select(Attempt).where(Attempt.run_id == run_id).order_by(Attempt.id)))


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
    """Audit query: the latest attempt per trial within ``archive`` (or every attempt), filtered;
    a comparison's attempts are not the archive's (``comparison_attempts`` reads them).
    ``since`` and ``until`` bound the attempt's start time (``until`` exclusive). The archive
    bounds which attempt is a trial's latest; the other filters then apply to that attempt."""
    if every_attempt:
        query: Select = (
            select(Attempt).where(Attempt.comparison.is_(None)).order_by(Attempt.trial_id, Attempt.id)
        )
        if trial_ids:
            query = query.where(Attempt.trial_id.in_(trial_ids))
        if archive is not None:
            query = query.where(Attempt.archive == archive)
        attempts = list(session.scalars(query))
    else:
        attempts = latest_attempts(session, trial_ids, archive=archive)
    return [
        a
        for a in attempts
        if (method is None or a.method == method)
        and (category is None or a.ons_category == category)
        and (status is None or a.status == status)
        and (since is None or _aware(a.started_at) >= since)
        and (until is None or _aware(a.started_at) < until)
    ]


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def released_with_identity(session: Session, archive: str, trial_id: str, identity: str) -> dict | None:
    """The newest succeeded attempt of a trial with this release identity, as a dict of its
    columns (None when there is none)."""
    attempt = session.scalar(
        select(Attempt)
        .where(
            Attempt.archive == archive,
            Attempt.trial_id == trial_id,
            Attempt.release_identity == identity,
            Attempt.status == "succeeded",
            Attempt.comparison.is_(None),
        )
        .order_by(Attempt.id.desc())
        .limit(1)
    )
    if attempt is None:
        return None
    return {column.name: getattr(attempt, column.name) for column in Attempt.__table__.columns}
