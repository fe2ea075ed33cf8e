"""Randomness of one trial as independent streams - every random step except DP noise.

The trial's seed is derived from the archive seed and the trial id (``derive_seed``) and stored
with every attempt. A ``numpy.random.SeedSequence`` of that seed gives a separate child stream
per step, keyed by the step's name - fitting, sampling, evaluation, tuning, the release gate's
re-draws, restoring dropped columns - so no two steps ever share a generator state, and a step
can change how much it draws (or a new step be added) without moving any other step's numbers.

Differentially private noise is *not* a stream: anything derived from a stored seed could be
recomputed by whoever holds it. It comes from ``trialsynth.dp.noise.SecureNoise``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

STEPS = ("fit", "sample", "evaluate", "tune", "redraw", "restore", "holdout", "schools", "resample")


def derive_seed(archive_seed: int, *parts: str) -> int:
    """A 32-bit seed that depends only on ``archive_seed`` and ``parts`` (e.g. the trial id)."""
    text = ":".join([str(archive_seed), *parts])
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big")


@dataclass(frozen=True)
class Streams:
    """The independent random streams of one trial, spawned from ``seed``."""

    seed: int

    def _child(self, step: str, attempt: int = 0) -> np.random.SeedSequence:
        # the child is keyed by the step's name, not its position: adding a step moves no other
        key = (_step_key(step),) if not attempt else (_step_key(step), attempt)
        return np.random.SeedSequence(self.seed, spawn_key=key)

    def generator(self, step: str, attempt: int = 0) -> np.random.Generator:
        """A new generator at the start of ``step``'s stream; ``attempt`` k > 0: the stream of
        the step's k-th repetition (a remedy's draws and gate: each rung its own randomness)."""
        if step not in STEPS:
            raise ValueError(f"The 'step' parameter must be one of {STEPS}. Got {step!r} instead.")
        return np.random.default_rng(self._child(step, attempt))

    def seed_of(self, step: str) -> int:
        """A 32-bit integer seed from ``step``'s stream, for settings recorded as an int
        (``random_state``) and for libraries that take an int (optuna, synthgauge)."""
        if step not in STEPS:
            raise ValueError(f"The 'step' parameter must be one of {STEPS}. Got {step!r} instead.")
        return int(self._child(step).generate_state(1)[0])


def _step_key(step: str) -> int:
    return int.from_bytes(hashlib.sha256(step.encode()).digest()[:4], "big")
