"""`trialsynth validate`: check a manifest and every trial's data file, changing nothing."""

from __future__ import annotations

from pathlib import Path

from registry.codebook import load_domain
from registry.loading import read_columns
from registry.manifest import Manifest, load_manifest
from registry.plans import build_plan
from trialsynth.data.loading import load
from trialsynth.errors import RegistryError, TrialDataError, TrialsynthError
from trialsynth.outputs.released import ReleasedOutputs
from trialsynth.outputs.supplied import read_released
from trialsynth.plan import TrialPlan
from trialsynth.run.sequence import clean_trial
from trialsynth.synthesisers import preflight
from trialsynth.synthesisers.routing import route


def _released_columns(manifest: Manifest, trial, problems: list[str]) -> set[str] | None:
    """Every column the trial's released outputs describe, or None when one cannot be read."""
    columns: set[str] = set()
    for path in manifest.outputs_paths(trial):
        if not path.is_file():
            problems.append(f"trial {trial.id!r}: key 'outputs': file not found: {path}")
            return None
        try:
            released = ReleasedOutputs.from_json(path)
        except TrialDataError as exc:
            problems.append(f"trial {trial.id!r}: key 'outputs': {exc}")
            return None
        columns |= set(released.names) | ({released.cluster} if released.cluster else set())
    return columns


def _trial_problems(manifest: Manifest) -> dict[str, list[str]]:
    """Problems of each trial knowable from the manifest and the data files' headers."""
    found: dict[str, list[str]] = {}
    for trial in manifest.trials:
        problems = found.setdefault(trial.id, [])
        released = _released_columns(manifest, trial, problems) if trial.outputs else set()
        if released is None:
            continue
        path = manifest.data_path(trial)
        if path is None:
            columns, where = released, "the released outputs"
        elif not path.is_file():
            problems.append(f"trial {trial.id!r}: key 'data': file not found: {path}")
            continue
        else:
            try:
                columns, where = set(read_columns(path)), path.name
            except TrialDataError as exc:
                problems.append(f"trial {trial.id!r}: key 'data': {exc}")
                continue
        references = trial.referenced_columns()
        if trial.codebook:
            try:
                domain = load_domain(manifest, trial)
            except TrialDataError as exc:
                problems.append(str(exc))
            else:
                references["codebook"] = domain.names if domain is not None else []
        for key, names in references.items():
            for name in names:
                if name not in columns:
                    problems.append(f"trial {trial.id!r}: key {key!r}: column {name!r} is not in {where}")
        if trial.treatment in trial.outcomes:
            problems.append(
                f"trial {trial.id!r}: key 'outcomes': the treatment column "
                f"{trial.treatment!r} cannot also be an outcome"
            )
        kept = {trial.treatment, *trial.outcomes}
        for name in sorted(kept & set(trial.drop)):
            problems.append(f"trial {trial.id!r}: key 'drop': {name!r} is the treatment or an outcome")
        for name in sorted(set(trial.categorical) & set(trial.continuous)):
            problems.append(f"trial {trial.id!r}: key 'continuous': {name!r} is also listed as categorical")
        if trial.unit and trial.unit in {*kept, *(trial.drop), *([trial.cluster] if trial.cluster else [])}:
            problems.append(
                f"trial {trial.id!r}: key 'unit': {trial.unit!r} is also the treatment, an outcome, "
                "the cluster or dropped"
            )
    return {trial_id: problems for trial_id, problems in found.items() if problems}


def _data_problems(manifest: Manifest, plan: TrialPlan) -> list[str]:
    """What a run would refuse once the trial's data is read: cleaning (roles, arms, identifiers)
    and what the routed method needs (public bounds for a DP method), before any synthesis."""
    if plan.data_path is None:
        return []
    try:
        loaded = load(plan)
        supplied = read_released(plan) is not None
        chosen = route(len(loaded.frame), plan.method, plan.policy, outputs_supplied=supplied)
        private = preflight.private_problems(plan, chosen)
        if private:
            return private
        cleaned = clean_trial(loaded, plan, chosen)
        return preflight.route_problems(plan, cleaned.meta, chosen)
    except TrialsynthError as exc:
        return [str(exc) if str(exc).startswith("trial ") else f"trial {plan.trial_id!r}: {exc}"]


def check_registry(path: str | Path, *, read_data: bool = False) -> tuple[Manifest, dict[str, list[str]]]:
    """Load the manifest (a structural problem raises ``RegistryError``: the run is refused) and
    return each trial's own problems: a run fails those trials, recorded, and completes the rest.

    ``read_data`` also reads each data file and runs cleaning and the routed method's checks
    (``trialsynth.synthesisers.preflight``), as ``trialsynth validate`` does."""
    manifest = load_manifest(path)
    problems = _trial_problems(manifest)
    if read_data:
        for trial in manifest.trials:
            if trial.id not in problems:
                found = _data_problems(manifest, build_plan(manifest, trial))
                if found:
                    problems[trial.id] = found
    return manifest, problems


def validate_registry(path: str | Path, *, read_data: bool = False) -> Manifest:
    """Load the manifest and check every trial; raise RegistryError listing all problems."""
    manifest, problems = check_registry(path, read_data=read_data)
    if problems:
        raise RegistryError([p for trial in manifest.trials for p in problems.get(trial.id, [])])
    return manifest
