"""The output checker's rules (``ClearanceRules``, stored with the outputs) and the one
``Recorder`` of every check made under them."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class ClearanceRules:
    min_cell_count: int = 10
    count_rounding_base: int = 5
    coefficient_decimals: int = 4
    mean_significant_figures: int = 3
    min_residual_df: int = 10
    histogram_bins: int = 40
    tail_quantile: float = 0.005
    dominance_n: int = 2
    dominance_k: float = 0.85
    school_group: int = 5
    min_schools_icc: int = 10
    atom_min_share: float = 0.005
    max_atoms: int = 200
    association_decimals: int = 2
    icc_decimals: int = 2


@dataclass
class Recorder:
    """Every rule applied, where, and what it did: each ``check`` goes to ``checks`` (rule, where,
    action) and its line to the narrative ``log``; ``note`` adds a line that records no rule."""

    log: list[str] = field(default_factory=list)
    checks: list[dict[str, str]] = field(default_factory=list)

    def note(self, line: str) -> None:
        self.log.append(line)

    def check(self, rule: str, where: str, action: str, line: str | None = None) -> None:
        self.checks.append({"rule": rule, "where": where, "action": action})
        if line is not None:
            self.log.append(line)

    def withhold(self, outcome: str, rule: str, why: str) -> None:
        where = f"model for {outcome}"
        self.check(rule, where, f"withheld: {why}", f"{where}: withheld: {why}")


def round_counts(counts: np.ndarray, rules: ClearanceRules) -> np.ndarray:
    base = rules.count_rounding_base
    return np.maximum(np.round(counts / base) * base, base)
