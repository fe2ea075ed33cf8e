"""Clearing the outputs of one archived trial: what `trialsynth clear` writes for release."""

from __future__ import annotations

from trialsynth.data.cleaning import clean_planned
from trialsynth.data.loading import load_trial_data
from trialsynth.errors import TrialDataError
from trialsynth.outputs.clearance import clear_outputs
from trialsynth.outputs.released import ReleasedOutputs
from trialsynth.outputs.rules import ClearanceRules
from trialsynth.plan import TrialPlan


def clear_trial(plan: TrialPlan, rules: ClearanceRules | None = None) -> ReleasedOutputs:
    """Load and clean a trial as a run does, then clear its outputs (public bounds from the plan)."""
    if plan.data_path is None:
        raise TrialDataError(
            f"trial {plan.trial_id!r} has no data in the manifest: there is nothing to clear"
        )
    frame, _ = load_trial_data(plan.data_path, plan.trial_id)
    data, meta = clean_planned(frame, plan)
    return clear_outputs(
        data, meta, rules=rules, bounds=dict(plan.bounds), source=f"{plan.archive}/{plan.trial_id}"
    )
