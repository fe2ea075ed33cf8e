"""The epsilon ledger: what each trial has spent, checked before and charged after a DP release."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from trialsynth.catalogue.models import EpsilonCharge
from trialsynth.errors import PrivacyBudgetError


@dataclass(frozen=True)
class Release:
    archive: str
    trial_id: str
    epsilon: float
    delta: float
    seed: int
    data_hash: str
    params: dict

    @property
    def key(self) -> str:
        fields = [
            self.archive,
            self.trial_id,
            self.epsilon,
            self.delta,
            self.seed,
            self.data_hash,
            self.params,
        ]
        return hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()


def spent(sessions: sessionmaker, archive: str, trial_id: str) -> float:
    with sessions() as session:
        total = session.scalar(
            select(func.sum(EpsilonCharge.epsilon)).where(
                EpsilonCharge.archive == archive, EpsilonCharge.trial_id == trial_id
            )
        )
    return float(total or 0.0)


def already_charged(sessions: sessionmaker, release: Release) -> bool:
    with sessions() as session:
        return (
            session.scalar(select(EpsilonCharge.id).where(EpsilonCharge.release_key == release.key))
            is not None
        )


def check(sessions: sessionmaker, release: Release, *, cap: float, lifetime: float) -> float:
    """Refuse a release above the policy cap or beyond the trial's lifetime budget; returns the
    epsilon this release would newly spend (0 when the identical release was charged before)."""
    if release.epsilon > cap:
        raise PrivacyBudgetError(
            f"trial {release.trial_id!r}: epsilon {release.epsilon:g} exceeds the policy cap "
            f"epsilon_cap {cap:g}"
        )
    if already_charged(sessions, release):
        return 0.0
    used = spent(sessions, release.archive, release.trial_id)
    if used + release.epsilon > lifetime + 1e-12:
        raise PrivacyBudgetError(
            f"trial {release.trial_id!r}: this release needs epsilon {release.epsilon:g} but "
            f"{used:g} of the lifetime budget epsilon_lifetime {lifetime:g} is spent"
        )
    return release.epsilon


def charge(sessions: sessionmaker, release: Release, attempt_id: int) -> None:
    """Record the release's spend once; the same release again is not charged twice."""
    try:
        with sessions.begin() as session:
            session.add(
                EpsilonCharge(
                    archive=release.archive,
                    trial_id=release.trial_id,
                    attempt_id=attempt_id,
                    release_key=release.key,
                    epsilon=release.epsilon,
                    delta=release.delta,
                    seed=release.seed,
                    charged_at=datetime.now(UTC),
                )
            )
    except IntegrityError:
        pass  # charged before: the identical release is already in the ledger
