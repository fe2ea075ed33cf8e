"""The release gate's second rule: each disclosure measure of a file (the attacks' risks,
``dcr_share``, the school re-identification share) at or under its limit, and the remedy tried
before a file over a limit is blocked: one whole, smoothed re-draw from the model."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from trialsynth.errors import ReleaseBlockedError
from trialsynth.synthesisers.base import DifferentiallyPrivate, FromReleasedOutputs, Redraws, Synthesiser

RISK_RULE = "attack-risks-v2"


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

    def enforce(self) -> None:
        if not self.released:
            raise ReleaseBlockedError(
                f"release blocked: disclosure over its limit: {'; '.join(self.exceeded)}"
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


# -- the remedy: one whole, smoothed re-draw ----------------------------------------------------


def draws_allowed(method: Synthesiser) -> int:
    """How many draws a file gets before a risk over its limit blocks it: two for a method that
    can re-draw with smoothed donors (``Redraws``), else one."""
    return 2 if isinstance(method, Redraws) else 1


def draw_again(risks: RiskGate, replicated_uniques_released: bool) -> bool:
    """Whether the file is drawn again: a risk is over its limit while the replicated-uniques
    rule passed (a file that rule blocks is not drawn again for risk)."""
    return not risks.released and replicated_uniques_released


@dataclass(frozen=True)
class RiskRedraw:
    """The first draw went over a risk limit; the file was drawn again, whole, smoothed."""

    exceeded: list[str]

    def record(self) -> dict[str, Any]:
        return {
            "disclosure": {
                "first_draw_exceeded": self.exceeded,
                "whole_file_redrawn_for_risk": True,
            }
        }


def redraw_smoothed(method: Synthesiser, n_rows: int, rng: np.random.Generator) -> pd.DataFrame:
    """The whole file drawn again from the model with smoothed donors (``Redraws.redraw``), from
    ``rng`` (the trial's ``resample`` stream): a file that sits too close to its training rows
    gets one more chance before it is blocked (``bench/gate_remedies.py`` measures the cost)."""
    assert isinstance(method, Redraws)
    return method.redraw(n_rows, rng)
