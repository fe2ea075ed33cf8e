"""Budget arithmetic for differentially private releases (zero-concentrated DP, Bun & Steinke 2016).

A release at (epsilon, delta) is planned as a zCDP budget ``rho`` with
epsilon = rho + 2 sqrt(rho log(1/delta_conversion)). Where the public domain is partly estimated
under DP, ``estimate_share`` of rho pays for it, and the level selection (a label that only one
record holds may survive the threshold) takes half of delta: the release is then
(rho, delta_selection)-approximate zCDP, which converts to (epsilon, delta) with
delta = delta_conversion + delta_selection.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field


def zcdp_rho(epsilon: float, delta: float) -> float:
    """The zCDP budget whose (epsilon, delta)-DP conversion equals ``epsilon`` at ``delta``."""
    log_term = math.log(1 / delta)
    return (math.sqrt(log_term + epsilon) - math.sqrt(log_term)) ** 2


def epsilon_of(rho: float, delta: float) -> float:
    """The (epsilon, delta)-DP guarantee of rho-zCDP (Bun & Steinke, Proposition 1.3)."""
    return rho + 2 * math.sqrt(rho * math.log(1 / delta))


@dataclass(frozen=True)
class Budget:
    """One release's budget: the total and how it is split. ``parts`` sum to ``rho``."""

    epsilon: float
    delta: float
    rho: float
    delta_conversion: float
    delta_selection: float
    parts: dict[str, float] = field(default_factory=dict)

    def record(self) -> dict:
        return {
            "epsilon": self.epsilon,
            "delta": self.delta,
            "rho": self.rho,
            "delta_conversion": self.delta_conversion,
            "delta_selection": self.delta_selection,
            "rho_parts": dict(self.parts),
        }


def plan_budget(
    epsilon: float, delta: float, *, estimate_share: float = 0.0, selects: bool = False
) -> Budget:
    """Split (epsilon, delta): ``estimate_share`` of rho for estimating the domain (0 when the
    domain is declared), the rest in thirds for MST's one-way marginals, tree selection and
    two-way marginals. With ``selects`` (category levels or missing states estimated), half of
    delta bounds the chance that a value only one record holds enters the domain."""
    if not 0 <= estimate_share < 1:
        raise ValueError(f"The 'estimate_share' parameter must be in [0, 1). Got {estimate_share!r}.")
    delta_selection = delta / 2 if selects else 0.0
    delta_conversion = delta - delta_selection
    rho = zcdp_rho(epsilon, delta_conversion)
    domain = rho * estimate_share
    rest = (rho - domain) / 3
    parts = {"domain": domain, "one_way": rest, "selection": rest, "two_way": rho - domain - 2 * rest}
    return Budget(epsilon, delta, rho, delta_conversion, delta_selection, parts)
