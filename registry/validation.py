"""`trialsynth validate`: check a manifest and every trial's data file, changing nothing."""

from __future__ import annotations

from pathlib import Path

from registry.loading import read_columns
from registry.manifest import Manifest, load_manifest
from trialsynth.errors import RegistryError, TrialDataError
from trialsynth.outputs.released import ReleasedOutputs


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


def _trial_problems(manifest: Manifest) -> list[str]:
    problems: list[str] = []
    for trial in manifest.trials:
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
        for key, names in trial.referenced_columns().items():
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
    return problems


def validate_registry(path: str | Path) -> Manifest:
    """Load the manifest and check every trial; raise RegistryError listing all problems."""
    manifest = load_manifest(path)
    problems = _trial_problems(manifest)
    if problems:
        raise RegistryError(problems)
    return manifest
