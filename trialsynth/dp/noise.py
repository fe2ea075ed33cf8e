"""Secret randomness for differentially private mechanisms.

``SecureNoise`` draws from the operating system's cryptographically secure generator
(``os.urandom``) on every call: it has no seed, nothing about it is stored, and no catalogue or
manifest field reproduces it. It offers the two primitives the mechanisms need:

- ``discrete_gaussian(sigma, size)``: integer noise from the discrete Gaussian N_Z(0, sigma^2)
  (Canonne, Kamath, Steinke 2020), by rejection from the discrete Laplace of scale
  t = floor(sigma) + 1. Adding it to a count of L2 sensitivity D is (D^2 / (2 sigma^2))-zCDP,
  the same as the continuous Gaussian. Counts stay integers, so the attack on the low-order bits
  of floating-point noise (Mironov 2012) does not apply: the set of possible outputs is the
  integers whatever the input. The sampler computes its geometric draws and acceptance
  probabilities in double precision: within the bulk their relative error (about 1e-16) shifts
  each output's probability by a factor within 1 +/- 1e-15; in the far tails, outputs whose
  acceptance probability is below 2^-53 (or beyond about 36.7 t) are never drawn. Both move at
  most about 1e-16 of probability mass, far inside the stated delta.
- ``gumbel(size)``: standard Gumbel variates. The exponential mechanism is run as
  ``argmax(epsilon * score / (2 * sensitivity) + Gumbel)``, which selects each candidate with
  exactly the exponential mechanism's probability (the Gumbel-max identity).

Uniforms are 53-bit fractions of 64-bit words from ``os.urandom``, never 0.
"""

from __future__ import annotations

import math
import os
from typing import Protocol

import numpy as np

_MANTISSA = 53


class Noise(Protocol):
    """What a differentially private mechanism draws its noise from."""

    def discrete_gaussian(self, sigma: float, size: int) -> np.ndarray: ...

    def gumbel(self, size: int) -> np.ndarray: ...


class SecureNoise:
    """Noise from ``os.urandom`` (see the module docstring). Holds no state worth keeping."""

    def uniform(self, size: int) -> np.ndarray:
        """``size`` uniforms on (0, 1], 53-bit resolution, from the OS's secure generator."""
        words = np.frombuffer(os.urandom(8 * size), dtype=np.uint64) >> np.uint64(64 - _MANTISSA)
        return (words.astype(np.float64) + 1.0) * 2.0**-_MANTISSA

    def gumbel(self, size: int) -> np.ndarray:
        u = self.uniform(size)
        u = np.minimum(u, 1.0 - 2.0**-_MANTISSA)  # log(1) would give -log(0)
        return -np.log(-np.log(u))

    def discrete_laplace(self, scale: int, size: int) -> np.ndarray:
        """Integers with P(k) proportional to exp(-|k| / scale): the difference of two
        independent geometric counts of failures with success probability 1 - exp(-1/scale)."""
        log_p = -1.0 / scale

        def geometric(n: int) -> np.ndarray:
            return np.floor(np.log(self.uniform(n)) / log_p).astype(np.int64)

        return geometric(size) - geometric(size)

    def discrete_gaussian(self, sigma: float, size: int) -> np.ndarray:
        if not sigma > 0:
            raise ValueError(f"The 'sigma' parameter must be > 0. Got {sigma!r}.")
        sigma2 = sigma * sigma
        t = math.floor(sigma) + 1
        out = np.empty(size, dtype=np.int64)
        filled = 0
        while filled < size:
            batch = max(2 * (size - filled), 16)
            candidate = self.discrete_laplace(t, batch)
            accept = np.exp(-((np.abs(candidate) - sigma2 / t) ** 2) / (2 * sigma2))
            kept = candidate[self.uniform(batch) <= accept]
            take = min(kept.size, size - filled)
            out[filled : filled + take] = kept[:take]
            filled += take
        return out


class PublicNoise(SecureNoise):
    """The same draws from a seeded generator - **for public data only** (a generated surrogate
    in tuning, tests, the privacy audit), where repeatable noise discloses nothing. The pipeline
    never hands it a trial's data: a private fit always gets ``SecureNoise``."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng

    def uniform(self, size: int) -> np.ndarray:
        return 1.0 - self.rng.random(size)  # (0, 1]


def report_noisy_max(scores: np.ndarray, epsilon: float, sensitivity: float, noise: Noise) -> int:
    """The exponential mechanism at ``epsilon`` over candidates with these scores (higher is
    better) whose sensitivity is ``sensitivity``: index of the selected candidate."""
    scores = np.asarray(scores, dtype=float)
    return int(np.argmax(epsilon * scores / (2 * sensitivity) + noise.gumbel(scores.size)))
