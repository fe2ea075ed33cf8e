"""From manifest to plans: one ``TrialPlan`` per trial, built once per run and handed to the engine."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path

from registry.codebook import load_domain
from registry.manifest import Manifest, Trial
from trialsynth.data.files import write_atomically
from trialsynth.defaults import RISK_LIMITS
from trialsynth.errors import TrialDataError
from trialsynth.plan import Limits, Policy, Roles, TrialPlan
from trialsynth.streams import derive_seed


def entry_sha256(trial: Trial) -> str:
    """SHA-256 of the manifest entry as the schema reads it (lineage, release identity)."""
    entry = json.dumps(trial.model_dump(mode="json"), sort_keys=True)
    return hashlib.sha256(entry.encode()).hexdigest()


def build_plan(manifest: Manifest, trial: Trial, problems: Iterable[str] = ()) -> TrialPlan:
    """The plan of one manifest entry, with the archive's defaults (and the ``problems`` the
    registry found with this trial alone: it then fails at once, recorded)."""
    d = manifest.defaults
    problems = list(problems)
    try:
        domain = load_domain(manifest, trial)
    except TrialDataError as exc:
        domain = None
        if str(exc) not in problems:
            problems.append(str(exc))
    return TrialPlan(
        archive=manifest.archive,
        trial_id=trial.id,
        roles=Roles(
            treatment=trial.treatment,
            outcomes=tuple(trial.outcomes),
            cluster=trial.cluster,
            drop=tuple(trial.drop),
            categorical=tuple(trial.categorical),
            tcap_key=tuple(trial.tcap.key) if trial.tcap else (),
            tcap_target=trial.tcap.target if trial.tcap else None,
            continuous=tuple(trial.continuous),
            unit=trial.unit,
            keys=tuple(trial.keys),
            reference_arm=trial.reference_arm,
            covariates=tuple(trial.covariates),
            school_covariates=tuple(trial.school_covariates),
            randomised=trial.randomised,
        ),
        seed=derive_seed(d.seed, trial.id),
        data_path=manifest.data_path(trial),
        outputs_paths=tuple(manifest.outputs_paths(trial)),
        method=trial.method,
        epsilon=trial.epsilon,
        bounds={name: (float(low), float(high)) for name, (low, high) in trial.bounds.items()},
        policy=Policy(
            small_threshold=d.small_threshold,
            large_threshold=d.large_threshold,
            large_method=d.large_method,
            small_policy=d.small_policy,
            epsilon_cap=d.epsilon_cap,
            epsilon_lifetime=d.epsilon_lifetime,
            epsilon_archive_lifetime=d.epsilon_archive_lifetime,
            ea_generations=d.ea_generations,
            mst_tuning_trials=d.mst_tuning_trials,
            dp_time_budget=d.dp_time_budget,
            dp_model_size=d.dp_model_size,
            missing_values=d.missing_values,
            holdout_share=d.holdout_share,
            private_remedy=d.private_remedy,
            dp_rows_per_pupil=d.dp_rows_per_pupil,
            access_tier=trial.access_tier or d.access_tier,
            risk_limits=tuple(sorted({**RISK_LIMITS, **d.risk_limits}.items())),
        ),
        limits=Limits(time_s=d.trial_time_limit_s, memory_mb=d.trial_memory_limit_mb),
        entry_sha256=entry_sha256(trial),
        problems=tuple(problems),
        domain=domain,
    )


def build_plans(
    manifest: Manifest,
    trial_ids: Iterable[str] | None = None,
    problems: Mapping[str, list[str]] | None = None,
) -> list[TrialPlan]:
    """Plans for ``trial_ids`` (every trial when None, duplicates once), largest input first
    (``Manifest.largest_first``: on a pool the long trials start first); ``problems`` by trial id
    (``registry.validation.check_registry``) travel in the plans of the trials they concern."""
    ids = list(dict.fromkeys(trial_ids)) if trial_ids else [t.id for t in manifest.trials]
    problems = problems or {}
    return [
        build_plan(manifest, manifest.trial(trial_id), problems.get(trial_id, ()))
        for trial_id in manifest.largest_first(ids)
    ]


@cache
def _plans_json():  # pydantic's adapter for a list of plans, built on first use
    from pydantic import TypeAdapter

    return TypeAdapter(list[TrialPlan])


def write_plans(plans: list[TrialPlan], path: Path) -> Path:
    """The run's plans as JSON at ``path`` (written whole, then moved into place): how a caller
    that planned the run hands them to a flow. A flow's parameters are sent to Prefect's server,
    which refuses more than 512 KB - 128 demo trials' plans, with their public domains (every
    school's identifier), are 0.9 MB. Plans hold paths, roles, settings and public domains: no
    data."""
    return write_atomically(_plans_json().dump_json(plans).decode(), path)


def read_plans(path: str | Path) -> list[TrialPlan]:
    """The plans ``write_plans`` wrote."""
    return _plans_json().validate_json(Path(path).read_bytes())
