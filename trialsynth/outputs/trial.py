"""Clearing the outputs of one archived trial: what `trialsynth clear` writes for release."""

from __future__ import annotations

from registry.loading import load_trial_data
from registry.manifest import Manifest
from trialsynth.errors import TrialDataError
from trialsynth.outputs.clearance import ClearanceRules, clear_outputs
from trialsynth.outputs.released import ReleasedOutputs


def clear_trial(manifest: Manifest, trial_id: str, rules: ClearanceRules | None = None) -> ReleasedOutputs:
    """Load and clean a trial as a run does, then clear its outputs (public bounds from the manifest)."""
    trial = manifest.trial(trial_id)
    path = manifest.data_path(trial)
    if path is None:
        raise TrialDataError(f"trial {trial.id!r} has no data in the manifest: there is nothing to clear")
    from trialsynth.pipeline import clean_trial

    frame, _ = load_trial_data(path, trial.id)
    data, meta = clean_trial(frame, trial)
    bounds = {k: tuple(v) for k, v in trial.bounds.items()}
    return clear_outputs(data, meta, rules=rules, bounds=bounds, source=f"{manifest.archive}/{trial.id}")
