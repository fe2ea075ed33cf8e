"""The released outputs a trial's manifest entry supplies, several sources combined."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trialsynth.outputs.combine import combine_outputs
from trialsynth.outputs.released import ReleasedOutputs
from trialsynth.plan import TrialPlan


@dataclass(frozen=True)
class Released:
    """The released outputs a trial's entry supplies, several sources combined, and their files."""

    outputs: ReleasedOutputs = field(repr=False)
    paths: tuple[Path, ...]

    def record(self) -> dict[str, Any]:
        return {}


def read_released(plan: TrialPlan) -> Released | None:
    """The released outputs the plan supplies, several sources combined; None when there are none."""
    if not plan.outputs_paths:
        return None
    outputs = combine_outputs([ReleasedOutputs.from_json(path) for path in plan.outputs_paths])
    return Released(outputs, plan.outputs_paths)
