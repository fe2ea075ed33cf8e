"""The epsilon ledger: every differentially private fit is checked against the budgets and
charged in one transaction, before its noise is drawn.

``reserve`` reads what the trial and the archive have spent and records the new charge in the
same transaction - serialisable on PostgreSQL (a concurrent reservation that would together
overspend fails and is retried against the committed total), an immediate write lock on
SQLite - so two releases started at once can never both pass a lifetime check that only one fits.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from trialsynth.catalogue.models import EpsilonCharge
from trialsynth.errors import PrivacyBudgetError
from trialsynth.plan import TrialPlan

RETRIES = 8  # serialisation failures retried before giving up


@dataclass(frozen=True)
class Release:
    """One private fit: its trial, guarantee and release identity (``trialsynth.release.identity``)."""

    archive: str
    trial_id: str
    epsilon: float
    delta: float
    identity: str  # the release identity's SHA-256
    forced: bool = False  # re-released on request although its identity had a released file


@dataclass(frozen=True)
class Limits:
    """The budgets a reservation is checked against (``None``: no archive-wide limit)."""

    cap: float  # largest epsilon of one release
    lifetime: float  # total epsilon per trial
    archive_lifetime: float | None = None  # total epsilon per archive (a pupil may be in several trials)


@dataclass(frozen=True)
class Charged:
    """What a private fit was charged: its release in the ledger - or none, with the reason
    (a comparison's file is never released, so its fit is not charged)."""

    release: Release | None
    epsilon_newly_spent: float
    not_charged_because: str = ""

    def record(self) -> dict[str, Any]:
        params: dict[str, Any] = {"epsilon_newly_spent": self.epsilon_newly_spent}
        if self.not_charged_because:
            params["ledger"] = f"not charged: {self.not_charged_because}"
        return {"params": params}


NOT_CHARGED_COMPARISON = Charged(None, 0.0, "a comparison's file is never released")


def charge(
    sessions: sessionmaker,
    plan: TrialPlan,
    *,
    epsilon: float,
    delta: float,
    identity: str,
    attempt_id: int,
    forced: bool = False,
) -> Charged:
    """Reserve a private fit's budget for ``plan``'s trial under the plan's limits (``reserve``),
    before any noise is drawn."""
    release = Release(
        archive=plan.archive,
        trial_id=plan.trial_id,
        epsilon=float(epsilon),
        delta=float(delta),
        identity=identity,
        forced=forced,
    )
    policy = plan.policy
    limits = Limits(
        cap=policy.epsilon_cap,
        lifetime=policy.epsilon_lifetime,
        archive_lifetime=policy.epsilon_archive_lifetime,
    )
    return Charged(release, reserve(sessions, release, attempt_id, limits))


def paid(
    sessions: sessionmaker, archive: str, trial_id: str, attempt_id: int, release_key: str | None
) -> bool:
    """Does this catalogue's ledger hold the charge of ``attempt_id`` (stored measurements are
    reused only where the ledger beside them recorded what they cost)?"""
    query = select(func.count()).where(
        EpsilonCharge.archive == archive,
        EpsilonCharge.trial_id == trial_id,
        EpsilonCharge.attempt_id == attempt_id,
    )
    if release_key is not None:
        query = query.where(EpsilonCharge.release_key == release_key)
    with sessions() as session:
        return bool(session.scalar(query))


def spent(sessions: sessionmaker, archive: str, trial_id: str | None = None) -> float:
    """Epsilon charged to a trial (or, with ``trial_id`` None, to the whole archive)."""
    with sessions() as session:
        return _spent(session, archive, trial_id)


def _spent(session: Session, archive: str, trial_id: str | None) -> float:
    query = select(func.sum(EpsilonCharge.epsilon)).where(EpsilonCharge.archive == archive)
    if trial_id is not None:
        query = query.where(EpsilonCharge.trial_id == trial_id)
    return float(session.scalar(query) or 0.0)


def reserve(sessions: sessionmaker, release: Release, attempt_id: int, limits: Limits) -> float:
    """Check the budgets and charge ``release`` atomically; returns the epsilon charged.
    Raises ``PrivacyBudgetError`` (nothing charged) when the release does not fit."""
    if release.epsilon > limits.cap:
        raise PrivacyBudgetError(
            f"trial {release.trial_id!r}: epsilon {release.epsilon:g} exceeds the policy cap epsilon_cap "
            f"{limits.cap:g}"
        )
    for attempt in range(RETRIES):
        try:
            with sessions() as session:
                _begin(session)
                _check(session, release, limits)
                session.add(
                    EpsilonCharge(
                        archive=release.archive,
                        trial_id=release.trial_id,
                        attempt_id=attempt_id,
                        release_key=release.identity,
                        epsilon=release.epsilon,
                        delta=release.delta,
                        forced=release.forced,
                        charged_at=datetime.now(UTC),
                    )
                )
                session.commit()
            return release.epsilon
        except (OperationalError, DBAPIError) as exc:
            if attempt == RETRIES - 1 or not _retryable(exc):
                raise
            time.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")


def _begin(session: Session) -> None:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.connection(execution_options={"isolation_level": "SERIALIZABLE"})
    elif dialect == "sqlite":
        session.execute(text("BEGIN IMMEDIATE"))


def _check(session: Session, release: Release, limits: Limits) -> None:
    used = _spent(session, release.archive, release.trial_id)
    if used + release.epsilon > limits.lifetime + 1e-12:
        raise PrivacyBudgetError(
            f"trial {release.trial_id!r}: this release needs epsilon {release.epsilon:g} but {used:g} of "
            f"the lifetime budget epsilon_lifetime {limits.lifetime:g} is spent"
        )
    if limits.archive_lifetime is not None:
        total = _spent(session, release.archive, None)
        if total + release.epsilon > limits.archive_lifetime + 1e-12:
            raise PrivacyBudgetError(
                f"trial {release.trial_id!r}: this release needs epsilon {release.epsilon:g} but "
                f"{total:g} of the archive's budget epsilon_archive_lifetime {limits.archive_lifetime:g} "
                "is spent"
            )


def _retryable(exc: Exception) -> bool:
    """A serialisation failure or deadlock (PostgreSQL) or a busy database (SQLite)."""
    code = getattr(getattr(exc, "orig", None), "sqlstate", None)
    return code in ("40001", "40P01") or "database is locked" in str(exc)
