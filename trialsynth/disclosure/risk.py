"""The release gate's second rule: each disclosure measure of a file (the attacks' risks,
``dcr_share``, the school re-identification share) at or under its limit, and the remedy tried
before a file over a limit is blocked: a ladder of whole re-draws, each safer than the last
(``ladder``), every rung recorded; the file is blocked only when every rung fails."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from trialsynth.errors import ReleaseBlockedError
from trialsynth.synthesisers.base import (
    DifferentiallyPrivate,
    FromReleasedOutputs,
    Redraws,
    Remedies,
    Rung,
    Synthesiser,
)

# v3: dcr_share read against its measured null, over rows not tied; v4: between pupils in a long file;
# v5: over rows within reach of a real row, its interval over clusters of a shared nearest row
RISK_RULE = "attack-risks-v5"


# Measured by attacks against the holdout: unmeasured (too few held-out rows) blocks a file
# unless its limit is 1 (the measure's gate turned off).
ATTACK_MEASURES = ("singling_out_risk", "linkability_risk", "inference_risk", "dcr_share")


@dataclass(frozen=True)
class RiskGate:
    """The release gate's second rule: each disclosure measure of the file (the attacks'
    risks, ``dcr_share``, the school re-identification share) at or under its limit (the plan's
    ``risk_limits``); a file with a measured value over its limit is blocked, and so is one whose
    attacks could not be measured (fewer held-out rows than ``attacks.MIN_CONTROL_ROWS``) unless
    their limits are 1. The lower bounds of the 95% intervals are recorded beside. A measure the
    trial has no structure for (no school-level columns) is listed, never a reason to block.

    Not enforced (measured and recorded) for a differentially private file (see
    ``check_release``) and for a file synthesised from cleared outputs (``ea``): it never saw a
    row, its disclosure control is the clearance of those outputs, and its holdout rows were
    seen through them like every other row, so the attacks have no unseen control."""

    limits: tuple[tuple[str, float], ...]
    measured: tuple[tuple[str, float | None], ...]  # the point value of each measure
    lower: tuple[tuple[str, float | None], ...] = ()  # the lower bound of its 95% interval, if any
    enforced: bool = True
    why_not_enforced: str = ""

    @property
    def exceeded(self) -> list[str]:
        limits, lower = dict(self.limits), dict(self.lower)
        out = []
        for name, value in self.measured:
            if name not in limits:
                continue
            if value is None:
                if name in ATTACK_MEASURES and limits[name] < 1:
                    out.append(f"{name} unmeasured (too few held-out rows; raise holdout_share)")
                continue
            if value > limits[name]:
                bound = lower.get(name)
                shown = f" (95% interval from {bound:.3g})" if bound is not None else ""
                out.append(f"{name} {value:.3g}{shown} > {limits[name]:g}")
        return out

    @property
    def released(self) -> bool:
        return not self.exceeded or not self.enforced

    def record(self) -> dict[str, Any]:
        return {
            "disclosure": {
                "risk_rule": RISK_RULE,
                "risk_limits": dict(self.limits),
                "risks_exceeded": self.exceeded,
                "risks_unmeasured": [name for name, value in self.measured if value is None],
                "risks_enforced": self.enforced,
                "risks_not_enforced_because": self.why_not_enforced or None,
            }
        }

    def enforce(self, tried: tuple[str, ...] = ()) -> None:
        if not self.released:
            after = f" after {len(tried)} remedies ({'; '.join(tried)})" if tried else ""
            raise ReleaseBlockedError(
                f"release blocked: disclosure over its limit{after}: {'; '.join(self.exceeded)}"
            )


def check_risks(
    metrics: dict[str, float | None], limits: tuple[tuple[str, float], ...], method: Synthesiser
) -> RiskGate:
    """The file's disclosure measures against the plan's limits (see ``RiskGate``)."""
    measured = tuple((name, metrics.get(name)) for name, _ in limits)
    lower = tuple(
        (name, metrics[f"{name}_low"]) for name, _ in limits if metrics.get(f"{name}_low") is not None
    )
    why = ""
    if isinstance(method, DifferentiallyPrivate):
        why = (
            "differentially private: the guarantee covers every row; blocking on the real data would void it"
        )
    elif isinstance(method, FromReleasedOutputs):
        why = "synthesised from cleared outputs only: their clearance is its disclosure control"
    return RiskGate(limits, measured, lower, enforced=not why, why_not_enforced=why)


# -- the remedies: a ladder of whole, smoothed re-draws -----------------------------------------


def ladder(method: Synthesiser) -> tuple[Rung, ...]:
    """The remedies a file over a risk limit gets before it is blocked, in order: the method's
    own (``Remedies``: CART smooths its donors, then refits with coarser leaves), else one
    smoothed re-draw for a method that re-draws (``Redraws``), else none."""
    if isinstance(method, Remedies):
        return tuple(method.remedies())
    return (Rung("smoothed donors"),) if isinstance(method, Redraws) else ()


def draw_again(risks: RiskGate, replicated_uniques_released: bool) -> bool:
    """Whether the next remedy is tried: a risk is over its limit while the replicated-uniques
    rule passed (a file that rule blocks is not drawn again for risk)."""
    return not risks.released and replicated_uniques_released


@dataclass(frozen=True)
class RemediesTried:
    """The remedies tried so far, each with what the draw before it went over."""

    tried: tuple[tuple[str, tuple[str, ...]], ...]

    def record(self) -> dict[str, Any]:
        return {
            "disclosure": {
                "first_draw_exceeded": list(self.tried[0][1]),
                "whole_file_redrawn_for_risk": True,
                "remedies_tried": [{"remedy": name, "because": list(why)} for name, why in self.tried],
            }
        }


def refitted(method: Synthesiser, rung: Rung) -> Synthesiser:
    """A new, unfitted instance of ``method`` with ``rung``'s settings over its own."""
    return type(method)(**{**method.get_params(), **rung.params})


def redraw_smoothed(method: Synthesiser, n_rows: int, rng: np.random.Generator) -> pd.DataFrame:
    """The whole file drawn again from the model with smoothed donors (``Redraws.redraw``), from
    ``rng`` (the trial's ``resample`` stream) - ``bench/gate_remedies.py`` and
    ``bench/risk_ladder.py`` measure what each remedy costs."""
    assert isinstance(method, Redraws)
    return method.redraw(n_rows, rng)
