"""The release gate's verdicts on a comparison's file: each rule's measure, its limit and whether
the file is within it, recorded side by side and never enforced - a comparison releases nothing,
so a candidate over a limit is a finding of the comparison, not a failure of it.

A file the gate would refuse is not kept: its metrics and verdicts are recorded, its rows are
not written (``file_kept``), so no comparison leaves a file on disk that the release gate would
have stopped (one that reproduces a unique real record, or whose rows sit closer to the pupils
it learnt from than its limit allows)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from trialsynth.disclosure.risk import ATTACK_MEASURES, RiskGate
from trialsynth.disclosure.uniques import Gate

WITHIN, OVER, UNMEASURED = "within", "over", "unmeasured"


@dataclass(frozen=True)
class Verdicts:
    """Both rules of the release gate on one file (``uniques.Gate``, ``risk.RiskGate``)."""

    gate: Gate
    risks: RiskGate
    # False for a DP method fitted on a domain read from the trial's rows (a comparison's draft):
    # not private, so both rules hold for it as for any other file
    private_as_drawn: bool = True

    @property
    def _enforced(self) -> bool:
        return (self.gate.enforced and self.risks.enforced) or not self.private_as_drawn

    @property
    def _copied(self) -> int:
        """Rows reproducing a unique real record, and a long file's copied pupils, left."""
        return self.gate.replicated_uniques + (self.gate.pupils[1] if self.gate.pupils else 0)

    @property
    def would_release(self) -> bool:
        """Whether the release gate would pass the file (a differentially private file is
        released as drawn: its gate is measured, not enforced - unless its domain was drafted
        from the rows)."""
        if not self._enforced:
            return True
        return self._copied == 0 and not self.risks.exceeded

    def checks(self) -> dict[str, dict[str, Any]]:
        """Each rule's measure: its value, its limit and ``within``, ``over`` or ``unmeasured``
        (an unmeasured attack blocks unless its limit is 1, as the gate reads it)."""
        copied = self._copied
        out = {
            "replicated_uniques": {
                "value": copied,
                "limit": 0,
                "verdict": WITHIN if copied == 0 else OVER,
            }
        }
        limits = dict(self.risks.limits)
        for name, value in self.risks.measured:
            if name not in limits:
                continue
            if value is None:
                verdict = UNMEASURED if name in ATTACK_MEASURES and limits[name] < 1 else WITHIN
            else:
                verdict = OVER if value > limits[name] else WITHIN
            out[name] = {"value": value, "limit": limits[name], "verdict": verdict}
        enforced = self._enforced
        for check in out.values():
            check["enforced"] = enforced
        return out

    def record(self) -> dict[str, Any]:
        # measured is the comparison's work done: a file not kept has succeeded as a candidate
        # (a kept one succeeds when it is written)
        done = {} if self.would_release else {"status": "succeeded"}
        return done | {
            "disclosure": {
                "verdicts": self.checks(),
                "would_release": self.would_release,
                "file_kept": self.would_release,
                "verdicts_enforced": False,  # a comparison: recorded, never enforced
            }
        }
