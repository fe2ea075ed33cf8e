"""What every step of one trial reads (``Trial``: its plan, the catalogue, the run, the attempt and
its stopwatch), and the steps' value types that belong to no step's module."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.orm import sessionmaker

from trialsynth.plan import RunContext, TrialPlan
from trialsynth.streams import Streams


class Step(Protocol):
    def record(self) -> dict[str, Any]: ...


class Stopwatch:
    """Seconds per step, stored with the attempt."""

    def __init__(self) -> None:
        self.timings: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = round(time.perf_counter() - start, 3)


@dataclass(frozen=True)
class Trial:
    """What every step of one trial reads: its plan, the catalogue, the run and the attempt."""

    plan: TrialPlan
    sessions: sessionmaker
    context: RunContext
    attempt_id: int
    clock: Stopwatch

    @property
    def streams(self) -> Streams:
        return Streams(self.plan.seed)


@dataclass(frozen=True)
class Unmeasured:
    """A private release was written; measuring it against the real data failed afterwards. The
    release stands: whether it exists must not depend on non-private code reading real rows."""

    reason: str

    def record(self) -> dict[str, Any]:
        return {"error": f"released; measuring the file against the real data failed: {self.reason}"}


@dataclass(frozen=True)
class SchoolsSynthesised:
    """What the released file's draw of new schools did (``synthesisers.cart_schools``)."""

    drawn: dict[str, Any]

    def record(self) -> dict[str, Any]:
        return {"lineage": {"school_synthesis": self.drawn}} if self.drawn else {}


@dataclass(frozen=True)
class MethodReplaced:
    """The risk ladder's private rung replaced the method: the released file's settings are the
    DP method's alone (the record's ``params`` start afresh; the CART fits before it stay in
    ``disclosure.remedies_tried`` only)."""

    def record(self) -> dict[str, Any]:
        return {"params": None}
