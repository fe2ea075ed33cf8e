"""The public domain of a release: which columns, their kinds, category levels, whether a value
may be missing, the bounds and precision of continuous columns - public metadata such as a
trial's data dictionary, declared in the manifest (``domain:``) or a codebook file it names
(``codebook:``). A differentially private method reads nothing about the data's *shape* from
the data; what the operator does not declare is estimated under DP (``trialsynth.dp.domain``).

Values outside the domain never enter it (``conform`` and the method's encoding): a number
beyond its bounds is clipped to the nearer bound; a label not among the levels, text in a
continuous column, or a missing value goes to the column's missing state - or, in a column
declared never missing, to its first level (categorical) or the middle of its bounds
(continuous).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from trialsynth.missing import as_label, plain

Kind = Literal["binary", "categorical", "continuous"]
DEFAULT_DECIMALS = 2  # a continuous column's released precision when the domain does not say
MISSING_LABEL = "\0missing"
LADDER = tuple(sorted({0.0, *(s * 2.0**j for s in (-1, 1) for j in range(-4, 41))}))


@dataclass(frozen=True)
class ColumnDomain:
    """One column's public domain; ``None`` marks what is not declared (estimated under DP)."""

    name: str
    kind: Kind | None = None
    levels: tuple | None = None  # categorical and binary: every possible label
    bounds: tuple[float, float] | None = None  # continuous: [low, high]
    missing: bool | None = True  # may a value be missing (the column gets a missing state)
    decimals: int | None = None  # continuous: released decimal places

    def __post_init__(self) -> None:
        kind = self.kind
        if kind is None and self.levels is not None:
            kind = "binary" if len(self.levels) == 2 else "categorical"
        if kind is None and self.bounds is not None:
            kind = "continuous"
        if kind == "categorical" and self.levels is not None and len(self.levels) == 2:
            kind = "binary"
        object.__setattr__(self, "kind", kind)
        if self.levels is not None:
            object.__setattr__(self, "levels", tuple(self.levels))
        if self.bounds is not None:
            low, high = (float(b) for b in self.bounds)
            if not low < high:
                raise ValueError(f"column {self.name!r}: bounds must be [low, high] with low < high")
            object.__setattr__(self, "bounds", (low, high))

    @property
    def continuous(self) -> bool:
        return self.kind == "continuous"

    def undeclared(self) -> list[str]:
        """What is missing from this column's declaration: 'kind', 'levels', 'bounds', 'missing'."""
        if self.kind is None:
            return ["kind"]
        parts = ["bounds"] if self.continuous and self.bounds is None else []
        parts += ["levels"] if not self.continuous and self.levels is None else []
        return parts + (["missing"] if self.missing is None else [])

    def released_decimals(self) -> int:
        return DEFAULT_DECIMALS if self.decimals is None else int(self.decimals)

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "missing": self.missing}
        if self.levels is not None:
            out["levels"] = [plain(v) for v in self.levels]
        if self.bounds is not None:
            out["bounds"] = list(self.bounds)
        if self.decimals is not None:
            out["decimals"] = self.decimals
        return out


@dataclass(frozen=True)
class PublicDomain:
    """Every synthesised column's public domain, and the policy for what is not declared."""

    columns: tuple[ColumnDomain, ...]
    estimate: bool = False  # estimate what is not declared under DP (else: refused)
    estimate_share: float = 0.1  # share of the zCDP budget spent estimating it
    source: str = "manifest"  # where it was declared: the manifest, or the codebook's path
    # False for a domain read from the trial's own rows (a comparison's draft): a method fitted on
    # it is not differentially private, whatever its noise (``run.compare.drafted_domain``)
    public: bool = True

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> ColumnDomain:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)

    def undeclared(self) -> dict[str, list[str]]:
        return {c.name: parts for c in self.columns if (parts := c.undeclared())}

    @property
    def complete(self) -> bool:
        return not self.undeclared()

    def kinds(self) -> dict[str, Kind]:
        return {c.name: c.kind or "categorical" for c in self.columns}

    def problems(self, *, required: Iterable[str] = ()) -> list[str]:
        """Why this domain cannot be used for a DP release (empty when it can)."""
        problems = [
            f"column {name!r} is a role of the trial but not in the public domain: declare it"
            for name in required
            if name not in self.names
        ]
        for name, parts in self.undeclared().items():
            if "kind" in parts:
                problems.append(f"column {name!r}: declare its kind, levels or bounds")
            elif not self.estimate:
                problems.append(
                    f"column {name!r}: declare {' and '.join(parts)} (or set estimate: true to "
                    "estimate them under DP with estimate_share of the budget)"
                )
        for column in self.columns:
            if column.levels is not None and len(column.levels) < 1:
                problems.append(f"column {column.name!r}: levels must not be empty")
        return problems

    def describe(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "estimate": self.estimate,
            "estimate_share": self.estimate_share,
            "columns": {c.name: c.describe() for c in self.columns},
        }

    @classmethod
    def from_mapping(
        cls,
        spec: Mapping[str, Any],
        *,
        bounds: Mapping[str, tuple[float, float]] | None = None,
        source: str = "manifest",
    ) -> PublicDomain:
        """From the manifest's or a codebook's mapping: ``{columns: {name: {kind, levels,
        bounds, missing, decimals}}, estimate, estimate_share}``; ``bounds`` (the trial's
        ``bounds:`` key) fill in bounds a column entry does not give."""
        bounds = dict(bounds or {})
        columns = []
        for name, entry in (spec.get("columns") or {}).items():
            entry = dict(entry or {})
            if entry.get("bounds") is None and name in bounds:
                entry["bounds"] = bounds[name]
            columns.append(ColumnDomain(name=str(name), **entry))
        return cls(
            columns=tuple(columns),
            estimate=bool(spec.get("estimate", False)),
            estimate_share=float(spec.get("estimate_share", 0.1)),
            source=source,
        )


def domain_formats(domain: PublicDomain) -> dict[str, tuple[Any, int]]:
    """Released dtype and decimal places of each column (-1: text), from the domain alone: whole
    numbers are nullable integers where the column may be missing, so the schema never depends
    on whether a draw holds a missing value."""
    formats: dict[str, tuple[Any, int]] = {}
    for column in domain.columns:
        whole: Any = pd.Int64Dtype() if column.missing else np.dtype("int64")
        if column.continuous:
            places = column.released_decimals()
            formats[column.name] = (whole if places == 0 else np.dtype("float64"), places)
            continue
        levels = column.levels or ()
        if levels and all(isinstance(v, int) and not isinstance(v, bool) for v in levels):
            formats[column.name] = (whole, 0)
        elif levels and all(isinstance(v, int | float) and not isinstance(v, bool) for v in levels):
            formats[column.name] = (np.dtype("float64"), 6)
        else:
            formats[column.name] = (np.dtype("object"), -1)
    return formats


# -- the data, conformed to the domain (per record: no decision reads the data) -----------------


def conform(frame: pd.DataFrame, domain: PublicDomain) -> pd.DataFrame:
    """The domain's columns of ``frame``, each value mapped on its own: numbers parsed (text
    becomes missing) in continuous columns; labels kept as they are (the method's encoding maps
    a label outside the levels). No decision here depends on any other row."""
    out = {}
    for column in domain.columns:
        values = frame[column.name]
        if column.continuous:
            out[column.name] = pd.to_numeric(values, errors="coerce").astype("float64")
        else:
            out[column.name] = values.astype("object")
    return pd.DataFrame(out, index=frame.index)


def canonical_label(value: object) -> str:
    """One value's label, decided by the value alone - never by how the rest of its column was
    read. A CSV reader types a whole column at once (one stray "x" and every 1.0 is read as the
    text "1.0"; one missing value and every 1 is read as 1.0); here every number, text or not,
    becomes its shortest form (1, 1.0, "1.0", "01" and " 1 " are all "1"; 2.5 and "2.50" are
    "2.5"), and other text is stripped."""
    text = value.strip() if isinstance(value, str) else value
    if isinstance(text, bool | np.bool_):
        return str(bool(text))
    try:
        number = float(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return as_label(text)
    if not np.isfinite(number):
        return as_label(text)
    return str(int(number)) if number.is_integer() else repr(number)


def label_value(label: str) -> object:
    """The released value of an estimated level, built from its label alone: a whole number as
    an int, another number as a float, else the text."""
    try:
        number = float(label)
    except ValueError:
        return label
    if not np.isfinite(number):
        return label
    return int(number) if number.is_integer() else number


def level_codes(values: pd.Series, levels: tuple) -> np.ndarray:
    """Code of each value among ``levels`` (matched by ``canonical_label``); a value outside
    the levels or missing gets -1."""
    lookup = {canonical_label(level): i for i, level in enumerate(levels)}
    return np.array(
        [-1 if pd.isna(v) else lookup.get(canonical_label(v), -1) for v in values], dtype=np.int64
    )


def decimals_of(column: pd.Series, limit: int = 6, rows: int | None = 5000) -> int:
    """The fewest decimal places that hold a numeric column's values (at most ``limit``), read
    from its first ``rows`` values (None: all)."""
    values = pd.to_numeric(column, errors="coerce").dropna().to_numpy(dtype="float64")[:rows]
    for places in range(limit + 1):
        if np.allclose(values, np.round(values, places), rtol=0, atol=1e-6 * 10**-places):
            return places
    return limit
