"""The sign-off before release: a person approves or rejects every file before it leaves.

A run never releases anything: a file that passed every gate is *staged* at its ``output_path``
(the attempt's ``release`` is ``staged``). ``review`` lists what waits; ``approve`` copies the
file - with its public page and data card (the full report, with aggregates of the real data,
stays inside) - to ``<release dir>/<access tier>/<archive>/``, checks the copy is the file the
run wrote (its SHA-256) and records who approved it and when; ``reject`` records who rejected it
and why (an approved file is withdrawn from the release location, with every file released for
that release identity). Every decision is a row of ``reviews`` (append-only) and is copied onto
the attempts of that release identity, so a nightly run that finds the trial ``unchanged`` keeps
the decision and a regenerated file (a new identity) waits for its own.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from trialsynth.catalogue.models import Attempt, Review
from trialsynth.catalogue.queries import latest_attempts
from trialsynth.catalogue.records import as_record
from trialsynth.data.files import sha256_of
from trialsynth.errors import SignoffError

STAGED, APPROVED, REJECTED = "staged", "approved", "rejected"
APPROVING, REJECTING = "approving", "rejecting"  # a sign-off at work (claimed, not yet recorded)
# Released beside the data file when they exist (``reports.trial_report.write_reports``): the
# public page and the data card; the full report shows aggregates of the real data and stays in
# the secure output directory.
COMPANIONS = (".public.html", ".card.md")


def pending(sessions: sessionmaker) -> list[dict[str, Any]]:
    """The latest attempt of every trial whose file awaits sign-off."""
    with sessions() as session:
        return [as_record(a) for a in latest_attempts(session) if a.release == STAGED]


def approve(
    sessions: sessionmaker,
    trial_id: str,
    by: str,
    release_dir: Path,
    *,
    archive: str | None = None,
    reason: str | None = None,
) -> dict[str, Any]:
    """Release the staged file of ``trial_id`` to ``release_dir``; returns the updated record.

    The attempt is claimed first (``staged`` -> ``approving`` in one conditional update, so two
    reviewers, or an approval and a rejection, cannot both act); the file is copied and the
    *copy* checked against the SHA-256 the run recorded; only then is the approval recorded. A
    failure puts the attempt back to ``staged`` and leaves nothing in the release location."""
    _named(by)
    attempt_id = _claim(sessions, trial_id, archive, (STAGED,), APPROVING)
    try:
        with sessions() as session:
            attempt = session.get(Attempt, attempt_id)
            assert attempt is not None
            source = Path(attempt.output_path or "")
            expected = (attempt.lineage or {}).get("output_sha256")
            tier = attempt.access_tier or "accredited"
            target = release_dir / tier / attempt.archive / source.name
        if not source.is_file():
            raise SignoffError(f"trial {trial_id!r}: the staged file {source} is missing; rerun the trial")
        copied = [_copy(source, target)]
        if not expected or sha256_of(target) != expected:
            target.unlink(missing_ok=True)
            raise SignoffError(
                f"trial {trial_id!r}: the staged file {source} is not the file the run wrote "
                "(its SHA-256 differs); rerun the trial"
            )
        for suffix in COMPANIONS:
            companion = source.with_name(source.stem + suffix)
            if companion.is_file():
                copied.append(_copy(companion, target.with_name(target.stem + suffix)))
    except BaseException:
        _release_claim(sessions, attempt_id, APPROVING, STAGED)
        raise
    with sessions.begin() as session:
        attempt = session.get(Attempt, attempt_id)
        assert attempt is not None
        _decide(session, attempt, APPROVED, by, reason, released=str(target.resolve()))
    return _record(sessions, attempt_id)


def reject(
    sessions: sessionmaker, trial_id: str, by: str, reason: str, *, archive: str | None = None
) -> dict[str, Any]:
    """Record the rejection of ``trial_id``'s file (staged, or approved: then withdrawn from the
    release location, with every file released for that release identity)."""
    _named(by)
    if not reason or not reason.strip():
        raise SignoffError("a rejection needs a reason (--reason TEXT)")
    attempt_id = _claim(sessions, trial_id, archive, (STAGED, APPROVED), REJECTING)
    with sessions.begin() as session:
        attempt = session.get(Attempt, attempt_id)
        assert attempt is not None
        for released in _released_paths(session, attempt):
            for path in (released, *(released.with_name(released.stem + s) for s in COMPANIONS)):
                path.unlink(missing_ok=True)
        _decide(session, attempt, REJECTED, by, reason, released=None)
    return _record(sessions, attempt_id)


def _claim(
    sessions: sessionmaker, trial_id: str, archive: str | None, expected: tuple[str, ...], claim: str
) -> int:
    """The trial's latest attempt, moved from one of the ``expected`` states to ``claim`` by one
    conditional update (no other sign-off can claim it meanwhile); its id."""
    with sessions.begin() as session:
        attempt = _latest(session, trial_id, archive)
        if attempt.release not in expected:
            raise SignoffError(
                f"trial {trial_id!r}: nothing {' or '.join(expected)} to act on ({_state(attempt)})"
            )
        moved = session.execute(
            update(Attempt)
            .where(Attempt.id == attempt.id, Attempt.release == attempt.release)
            .values(release=claim)
        )
        if moved.rowcount != 1:
            raise SignoffError(f"trial {trial_id!r}: another sign-off is acting on it; try again")
        return attempt.id


def _release_claim(sessions: sessionmaker, attempt_id: int, claim: str, back: str) -> None:
    with sessions.begin() as session:
        session.execute(
            update(Attempt).where(Attempt.id == attempt_id, Attempt.release == claim).values(release=back)
        )


def _released_paths(session: Session, attempt: Attempt) -> list[Path]:
    """Every file released for this attempt's release identity (or for the attempt alone)."""
    query = select(Review.released_path).where(
        Review.archive == attempt.archive,
        Review.trial_id == attempt.trial_id,
        Review.decision == APPROVED,
        Review.released_path.is_not(None),
    )
    if attempt.release_identity:
        query = query.where(Review.release_key == attempt.release_identity)
    else:
        query = query.where(Review.attempt_id == attempt.id)
    return [Path(p) for p in set(session.scalars(query)) if p]


def reviews(session: Session, trial_ids: list[str] | None = None) -> list[dict[str, Any]]:
    """Every decision, oldest first (the audit view)."""
    query = select(Review).order_by(Review.id)
    if trial_ids:
        query = query.where(Review.trial_id.in_(trial_ids))
    return [
        {
            "trial_id": r.trial_id,
            "archive": r.archive,
            "attempt_id": r.attempt_id,
            "release_identity": r.release_key,
            "decision": r.decision,
            "reviewer": r.reviewer,
            "reason": r.reason,
            "access_tier": r.access_tier,
            "released_path": r.released_path,
            "decided_at": _aware(r.decided_at).isoformat(),
        }
        for r in session.scalars(query)
    ]


def _aware(value: datetime) -> datetime:
    """SQLite hands back naive times: they were written in UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _named(by: str) -> None:
    if not by or not by.strip():
        raise SignoffError("a sign-off needs the reviewer's name (--by NAME)")


def _state(attempt: Attempt) -> str:
    return f"latest attempt {attempt.status}, release {attempt.release or 'none'}"


def _latest(session: Session, trial_id: str, archive: str | None) -> Attempt:
    found = [a for a in latest_attempts(session, [trial_id]) if archive is None or a.archive == archive]
    if not found:
        raise SignoffError(f"no trial {trial_id!r} in the catalogue")
    if len(found) > 1:
        names = ", ".join(a.archive for a in found)
        raise SignoffError(f"trial {trial_id!r} is in several archives ({names}): name one with --archive")
    return found[0]


def _decide(
    session: Session, attempt: Attempt, decision: str, by: str, reason: str | None, released: str | None
) -> None:
    now = datetime.now(UTC)
    session.add(
        Review(
            archive=attempt.archive,
            trial_id=attempt.trial_id,
            attempt_id=attempt.id,
            release_key=attempt.release_identity,
            decision=decision,
            reviewer=by.strip(),
            reason=reason,
            access_tier=attempt.access_tier,
            released_path=released,
            decided_at=now,
        )
    )
    same = [attempt]
    if attempt.release_identity:
        same = list(
            session.scalars(
                select(Attempt).where(
                    Attempt.archive == attempt.archive,
                    Attempt.trial_id == attempt.trial_id,
                    Attempt.release_identity == attempt.release_identity,
                    Attempt.release.is_not(None),
                )
            )
        )
    for each in same:
        each.release, each.reviewer, each.reviewed_at = decision, by.strip(), now
        each.review_reason, each.released_path = reason, released


def _record(sessions: sessionmaker, attempt_id: int) -> dict[str, Any]:
    with sessions() as session:
        return as_record(session.get(Attempt, attempt_id))


def _copy(source: Path, target: Path) -> Path:
    """Copy atomically: a reader of the release location never sees a partial file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.copying")
    shutil.copyfile(source, partial)
    partial.replace(target)
    return target
