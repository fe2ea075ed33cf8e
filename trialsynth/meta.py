"""What the engine knows about a cleaned trial: column kinds, roles and what cleaning dropped."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["binary", "categorical", "continuous"]


@dataclass(frozen=True)
class DroppedColumn:
    name: str
    reason: str


@dataclass(frozen=True)
class TrialMeta:
    """Column kinds and roles of a cleaned trial; passed to every synthesiser's ``fit``."""

    kinds: dict[str, Kind]
    treatment: str
    outcomes: tuple[str, ...]
    cluster: str | None = None
    dropped: tuple[DroppedColumn, ...] = ()
    tcap_key: tuple[str, ...] = ()
    tcap_target: str | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def columns(self) -> list[str]:
        return list(self.kinds)

    @property
    def primary_outcome(self) -> str:
        return self.outcomes[0]

    def of_kind(self, *kinds: Kind) -> list[str]:
        return [name for name, kind in self.kinds.items() if kind in kinds]
