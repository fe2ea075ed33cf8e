"""Attack success rates with their 95% Wilson intervals, and the risk an attack's rate on the
training rows means against its rate on the control rows (Giomi et al. 2022, eq. 1)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

Z95 = 1.959963984540054


@dataclass(frozen=True)
class Rate:
    successes: float  # a count, or an effective count (``dcr``: clustered rows)
    attempts: float

    @property
    def value(self) -> float:
        return self.successes / self.attempts if self.attempts else float("nan")

    def wilson(self) -> tuple[float, float]:
        """The 95% Wilson score interval of the rate."""
        n, p = self.attempts, self.value
        if not n:
            return float("nan"), float("nan")
        centre = (p + Z95**2 / (2 * n)) / (1 + Z95**2 / n)
        half = Z95 * math.sqrt(p * (1 - p) / n + Z95**2 / (4 * n * n)) / (1 + Z95**2 / n)
        return max(centre - half, 0.0), min(centre + half, 1.0)


def risk(training: Rate, control: Rate) -> tuple[float, float, float]:
    """The excess of the attack on training rows over the same attack on control rows,
    normalised by what the control attack leaves to gain; with its interval (see the module)."""

    def excess(a: float, c: float) -> float:
        # a control attack that always succeeds leaves nothing to gain: no excess
        return 0.0 if c >= 1 else float(np.clip((a - c) / (1 - c), -1.0, 1.0))

    a_low, a_high = training.wilson()
    c_low, c_high = control.wilson()
    point = excess(training.value, control.value)
    return point, min(excess(a_low, c_high), point), max(excess(a_high, c_low), point)


def risk_against(training: Rate, expected: float, prior: float = 0.0) -> tuple[float, float, float]:
    """``risk`` against a control rate known exactly (no interval of its own). With ``prior``,
    the point value adds that many pseudo-attempts at the control rate (shrinking an estimate
    that rests on a few attempts towards no excess); the interval is the raw rate's."""

    def excess(a: float) -> float:
        return 0.0 if expected >= 1 else float(np.clip((a - expected) / (1 - expected), -1.0, 1.0))

    low, high = training.wilson()
    shrunk = (
        (training.successes + prior * expected) / (training.attempts + prior)
        if training.attempts + prior
        else 0
    )
    return excess(shrunk), excess(low), excess(high)
