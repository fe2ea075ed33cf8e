"""Released analytical outputs: clearance from a trial, combination across sources, the models."""

from trialsynth.outputs.clearance import clear_outputs
from trialsynth.outputs.combine import combine_outputs
from trialsynth.outputs.released import ModelOutput, ReleasedOutputs, VariableOutput
from trialsynth.outputs.rules import ClearanceRules

__all__ = [
    "ClearanceRules",
    "ModelOutput",
    "ReleasedOutputs",
    "VariableOutput",
    "clear_outputs",
    "combine_outputs",
]
