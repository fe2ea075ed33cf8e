"""What the engine knows about a cleaned trial: column kinds, roles and what cleaning dropped."""

from __future__ import annotations

from dataclasses import dataclass, field

from trialsynth.domain import Kind, PublicDomain

__all__ = ["DroppedColumn", "Kind", "TrialMeta"]


@dataclass(frozen=True)
class DroppedColumn:
    """A column cleaning removed, and how to put it back into a released file.

    ``restore`` is one of: ``omit`` (manifest drops: never released), ``missing`` (empty
    columns), ``constant`` (``value``), ``new_ids`` (unit ids: fresh sequential ids, never real
    ones), ``describe`` (descriptors: ``mapping`` from the described column ``source``).
    ``value`` and ``mapping`` hold labels only and are never written to the catalogue.
    """

    name: str
    reason: str
    restore: str = "omit"
    source: str | None = None
    value: object = None
    mapping: dict | None = field(default=None, compare=False)


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
    original_columns: tuple[str, ...] = ()
    repairs: tuple[str, ...] = ()  # what cleaning changed in place (e.g. stray text set to missing)
    arms: tuple[tuple[object, int], ...] = ()  # (arm label, rows), the reference arm first
    unrandomised: int = 0  # rows whose treatment is missing (never randomised): kept, own state
    keys: tuple[str, ...] = ()  # declared disclosure key variables (empty: every synthesised column)
    domain: PublicDomain | None = None  # a DP trial's public domain (``trialsynth.domain``)

    @property
    def reference_arm(self) -> object:
        """The arm every contrast is taken against (``cleaning.arm_sizes``)."""
        return self.arms[0][0] if self.arms else None

    @property
    def columns(self) -> list[str]:
        return list(self.kinds)

    @property
    def primary_outcome(self) -> str:
        return self.outcomes[0]

    def of_kind(self, *kinds: Kind) -> list[str]:
        return [name for name, kind in self.kinds.items() if kind in kinds]
