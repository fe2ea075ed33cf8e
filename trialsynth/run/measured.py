"""A private fit paid for once: the epsilon ledger charged before any noise is drawn, the noisy
measurements stored after the fit, and a later release with the same measurement key estimated
from them instead (``trialsynth.dp.stored``: post-processing, no new ledger row).

The measurement key holds what decides the measurements' guarantee and meaning: the archive and
trial, the data file's hash, the trial's roles, its seed and the rows fitted (the same holdout),
the declared public domain, the method, its measurement version and the settings that shape what
it measures (epsilon, delta, rows per pupil among them). The file's SHA-256 is recorded in the
paying attempt's lineage, and a file is reused only as it was written. Code outside the
measurement step - estimation, sampling, evaluation, reports, the release identity's commit -
is not in it, so a re-release after such a change costs nothing. ``--force`` measures again
(charged, recorded as forced) and replaces the stored measurements; a comparison is never
charged, so it never stores nor reuses any.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from trialsynth.catalogue import ledger
from trialsynth.catalogue.models import Attempt
from trialsynth.catalogue.records import as_record
from trialsynth.data.files import sha256_of
from trialsynth.dp.stored import FOLDER, MeasurementStore, StoredMeasurements, measurement_key
from trialsynth.meta import TrialMeta
from trialsynth.outputs.supplied import Released
from trialsynth.release.identity import Identity
from trialsynth.run.steps import Step, Trial
from trialsynth.synthesisers.base import StoresMeasurements, Synthesiser
from trialsynth.synthesisers.fitting import Fitted, fit, fit_stored, reads_privately

log = logging.getLogger(__name__)

Training = tuple[pd.DataFrame, TrialMeta]


@dataclass(frozen=True)
class FromStored:
    """The release is estimated from the measurements an earlier, charged release stored."""

    stored: StoredMeasurements

    def record(self) -> dict[str, Any]:
        return {
            "params": {
                "measurements": "from stored measurements",
                "epsilon_newly_spent": 0.0,
                "measurement_key": self.stored.key,
                "measurements_paid_by": self.stored.charged,
            }
        }


@dataclass(frozen=True)
class Kept:
    """A charged fit's measurements, stored for the releases after it."""

    key: str
    path: Path | None
    sha256: str | None = None
    error: str = ""

    def record(self) -> dict[str, Any]:
        params = {"measurement_key": self.key, "measurements": "measured"}
        if self.error:
            return {"params": params | {"measurements_stored": f"not stored: {self.error}"}}
        lineage = {"measurements_path": str(self.path), "measurements_sha256": self.sha256}
        return {"params": params, "lineage": lineage}


@dataclass(frozen=True)
class Paid:
    """How a private fit is paid for: a new charge, or stored measurements (then ``charged`` is
    None), or, for a comparison, a charge of nothing."""

    charged: ledger.Charged | None
    stored: StoredMeasurements | None
    key: str | None

    @property
    def releases(self) -> bool:
        """Is the file a private release (written as drawn, never gated away)?"""
        return self.stored is not None or (self.charged is not None and self.charged.release is not None)


def store_of(trial: Trial) -> MeasurementStore:
    return MeasurementStore(trial.context.cache_dir / FOLDER)


def key_of(
    trial: Trial, synthesiser: StoresMeasurements, identity: Identity, meta: TrialMeta, rows: int
) -> str:
    plan = trial.plan
    return measurement_key(
        {
            "archive": plan.archive,
            "trial_id": plan.trial_id,
            "data_sha256": identity.parts.get("data_sha256"),
            "roles": dataclasses.asdict(plan.roles),
            "seed": plan.seed,  # with the rows fitted: the same holdout
            "rows": rows,
            "domain": meta.domain.describe() if meta.domain is not None else None,
            "method": synthesiser.name,
            "measurement_version": synthesiser.measurement_version,
            "params": synthesiser.measurement_params(),
        }
    )


def pay(
    trial: Trial, synthesiser: Synthesiser, released: Released | None, identity: Identity, training: Training
) -> Generator[Step, None, Paid | None]:
    """None for a fit that owes nothing; else stored measurements with this fit's key (nothing
    charged), or the budget reserved in the ledger before any noise is drawn."""
    private = reads_privately(synthesiser, released)
    if private is None:
        return None
    if trial.context.comparison is not None:
        yield ledger.NOT_CHARGED_COMPARISON
        return Paid(ledger.NOT_CHARGED_COMPARISON, None, None)
    key = None
    if isinstance(private, StoresMeasurements):
        key = key_of(trial, private, identity, training[1], len(training[0]))
        plan = trial.plan
        loaded = None if trial.context.force else store_of(trial).load(plan.archive, plan.trial_id, key)
        if loaded is not None and _paid_here(trial, *loaded):
            yield FromStored(loaded[0])
            return Paid(None, loaded[0], key)
    charged = ledger.charge(
        trial.sessions,
        trial.plan,
        epsilon=private.epsilon,
        delta=private.delta,
        identity=identity.key,
        attempt_id=trial.attempt_id,
        forced=trial.context.force,
    )
    yield charged
    return Paid(charged, None, key)


def _paid_here(trial: Trial, stored: StoredMeasurements, sha256: str) -> bool:
    """Did this catalogue record the charge that paid for ``stored`` and the file as it was
    written? (Measurements kept beside another catalogue, or a file changed since - a sigma
    shrunk, counts replaced - are not reused: the release measures and pays again.)"""
    charged = stored.charged or {}
    attempt_id = charged.get("attempt_id")
    if not isinstance(attempt_id, int):
        return False
    plan = trial.plan
    identity = charged.get("release_identity")
    if not ledger.paid(trial.sessions, plan.archive, plan.trial_id, attempt_id, identity):
        return False
    with trial.sessions() as session:
        attempt = session.get(Attempt, attempt_id)
        lineage = (as_record(attempt).get("lineage") or {}) if attempt is not None else {}
    return bool(lineage.get("measurements_sha256")) and lineage["measurements_sha256"] == sha256


def fit_paid(
    trial: Trial,
    synthesiser: Synthesiser,
    paid: Paid | None,
    training: Training,
    released: Released | None,
    units: np.ndarray | None = None,
) -> Generator[Step, None, Fitted]:
    """Fit as paid: from the stored measurements, or on the rows - and then store what a charged
    fit measured (a failure to store is recorded; the release stands, the next one pays again)."""
    if paid is not None and paid.stored is not None:
        assert isinstance(synthesiser, StoresMeasurements)
        return fit_stored(synthesiser, paid.stored, training[1])
    fitted = fit(synthesiser, training, released, units)
    if paid is not None and paid.key is not None and isinstance(synthesiser, StoresMeasurements):
        yield _keep(trial, synthesiser, paid)
    return fitted


def _keep(trial: Trial, synthesiser: StoresMeasurements, paid: Paid) -> Kept:
    assert paid.key is not None and paid.charged is not None
    plan = trial.plan
    charged = {
        "attempt_id": trial.attempt_id,
        "release_identity": getattr(paid.charged.release, "identity", None),
    }
    try:
        stored = synthesiser.stored(paid.key)
        stored = dataclasses.replace(stored, charged=charged)
        path = store_of(trial).save(plan.archive, plan.trial_id, stored)
        digest = sha256_of(path)
    except OSError as exc:
        log.warning("trial %s: its measurements could not be stored: %s", plan.trial_id, exc)
        return Kept(paid.key, None, error=f"{type(exc).__name__}: {exc}")
    return Kept(paid.key, path, digest)
