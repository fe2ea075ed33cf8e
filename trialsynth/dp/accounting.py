"""Budget arithmetic for differentially private releases (zero-concentrated DP, Bun & Steinke 2016).

A release at (epsilon, delta) is planned as a zCDP budget ``rho`` with
epsilon = rho + 2 sqrt(rho log(1/delta_conversion)). Where the public domain is partly estimated
under DP, ``estimate_share`` of rho pays for it, and the level selection (a label that only one
record holds may survive the threshold) takes half of delta: the release is then
(rho, delta_selection)-approximate zCDP, which converts to (epsilon, delta) with
delta = delta_conversion + delta_selection.

Where the record is a pupil of a long-format file, each pupil contributes exactly ``unit_rows``
rows (``dp.units.bounded``) and the guarantee is for one pupil's rows: zCDP's group privacy (Bun
& Steinke 2016, Proposition 1.9) makes a rho'-zCDP mechanism on rows (k^2 rho')-zCDP for a group of
k rows, so the mechanisms run on a budget of rho / unit_rows^2 (``Budget.rho`` and
its ``parts``: what they spend) and the release is rho-zCDP for a pupil (``Budget.rho_per_unit``).
A level selection's threshold counts ``unit_rows`` records a pupil may hold
(``dp.domain.selection_threshold``).
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
    unit_rows: int = 1  # rows a record (a long file's pupil) contributes: rho is per row of them

    @property
    def delta_each_selection(self) -> float:
        """The delta of each selection that reads values off the rows - the domain's levels and
        the continuous columns' atoms (``dp.atoms``) - sharing ``delta_selection`` equally."""
        selections = sum(1 for part in ("domain", "atoms") if self.parts.get(part))
        return self.delta_selection / max(selections, 1)

    @property
    def rho_per_unit(self) -> float:
        """The guarantee's rho for one record of ``unit_rows`` rows (group privacy)."""
        return self.rho * self.unit_rows**2

    def record(self) -> dict:
        out = {
            "epsilon": self.epsilon,
            "delta": self.delta,
            "rho": self.rho,
            "delta_conversion": self.delta_conversion,
            "delta_selection": self.delta_selection,
            "rho_parts": dict(self.parts),
        }
        if self.unit_rows > 1:
            out |= {"rows_per_pupil": self.unit_rows, "rho_per_pupil": self.rho_per_unit}
        return out


def plan_budget(
    epsilon: float,
    delta: float,
    *,
    estimate_share: float = 0.0,
    selects: bool = False,
    unit_rows: int = 1,
    atoms_share: float = 0.0,
) -> Budget:
    """Split (epsilon, delta): ``estimate_share`` of rho for estimating the domain (0 when the
    domain is declared), the rest in thirds for MST's one-way marginals, tree selection and
    two-way marginals. With ``selects`` (category levels or missing states estimated), half of
    delta bounds the chance that a value only one record holds enters the domain. With
    ``unit_rows`` k > 1 the guarantee is for a record of k rows: rho and its parts are divided by
    k^2 (see the module). ``atoms_share`` of rho selects continuous columns' atoms
    (``dp.atoms``), which shares delta_selection with the domain's levels."""
    if not 0 <= estimate_share < 1:
        raise ValueError(f"The 'estimate_share' parameter must be in [0, 1). Got {estimate_share!r}.")
    if not (isinstance(unit_rows, int) and unit_rows >= 1):
        raise ValueError(f"The 'unit_rows' parameter must be an integer >= 1. Got {unit_rows!r}.")
    if not 0 <= atoms_share < 1 - estimate_share:
        raise ValueError(
            f"The 'atoms_share' parameter must be in [0, 1 - estimate_share). Got {atoms_share!r}."
        )
    delta_selection = delta / 2 if selects or atoms_share else 0.0
    delta_conversion = delta - delta_selection
    rho = zcdp_rho(epsilon, delta_conversion) / unit_rows**2
    domain, atoms = rho * estimate_share, rho * atoms_share
    rest = (rho - domain - atoms) / 3
    parts = {"domain": domain, "one_way": rest, "selection": rest, "two_way": rho - domain - atoms - 2 * rest}
    if atoms_share:
        parts["atoms"] = atoms
    return Budget(epsilon, delta, rho, delta_conversion, delta_selection, parts, unit_rows)
