"""Released analytical outputs: what a data owner lets out of the secure environment.

A ``ReleasedOutputs`` bundle holds non-disclosive metadata (each variable's categories or bins
with cleared proportions) and the coefficients of the trial's analysis models. It is plain JSON
(``to_json``/``from_json``) so that outputs can be cleared once, checked by a person, and
shipped without microdata. The EA synthesiser reads nothing else.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from trialsynth.errors import TrialDataError

FORMAT_VERSION = 1
GRID_LIMIT = 10_000  # representable values per bin above which a bin decodes as a continuum


@dataclass(frozen=True)
class VariableOutput:
    """One variable's released metadata.

    Categorical: ``levels`` (sorted; the first is the regression reference, as in the paper's
    table A2). Continuous: ``edges`` of the released histogram, ``fill``, the released mean
    that stands in for a missing value in a regression, and the ``atoms``: exact values held by
    many rows, with their shares of the present rows. ``proportions`` has one entry per level
    or bin, plus a last one for missing values when ``has_missing``.
    """

    name: str
    kind: str  # "categorical" | "continuous"
    proportions: tuple[float, ...]
    has_missing: bool = False
    levels: tuple | None = None
    edges: tuple[float, ...] | None = None
    fill: float | None = None
    decimals: int = 0
    integer: bool = False
    # continuous: exact values many rows hold (a score's floor, a zero income, a fixed incentive)
    # and the share of the column's present rows at each, released as a frequency table
    atoms: tuple[float, ...] = ()
    atom_shares: tuple[float, ...] = ()

    @property
    def category_levels(self) -> tuple:
        """``levels``, for a categorical variable (an error for a continuous one)."""
        if self.levels is None:
            raise ValueError(f"variable {self.name!r} is {self.kind}: it has no levels")
        return self.levels

    @property
    def bin_edges(self) -> tuple[float, ...]:
        """``edges``, for a continuous variable (an error for a categorical one)."""
        if self.edges is None:
            raise ValueError(f"variable {self.name!r} is {self.kind}: it has no histogram edges")
        return self.edges

    @property
    def n_codes(self) -> int:
        base = len(self.category_levels) if self.kind == "categorical" else len(self.bin_edges) - 1
        return base + int(self.has_missing)

    @property
    def na_code(self) -> int | None:
        return self.n_codes - 1 if self.has_missing else None

    def midpoints(self) -> list[float]:
        """The value each bin stands for: the mean of the values the column's precision allows
        in it (what decoding draws from), or its midpoint when that grid is too fine."""
        return [float(np.mean(g)) if g is not None else (a + b) / 2 for (a, b), g in self._grids()]

    def bin_grids(self) -> list[np.ndarray | None]:
        """Per bin, the values at the column's precision inside it (None: too many to list)."""
        return [g for _, g in self._grids()]

    def _grids(self):
        step = 10.0**-self.decimals
        edges = self.bin_edges
        last = len(edges) - 2
        for i, (a, b) in enumerate(zip(edges[:-1], edges[1:], strict=True)):
            first, end = math.ceil(a / step - 1e-9), math.floor(b / step + 1e-9)
            if i < last and abs(end * step - b) < 1e-9 * max(1.0, abs(b)):
                end -= 1  # a bin holds its lower edge, not its upper one (the last holds both)
            count = end - first + 1
            grid = (
                np.round(np.arange(first, end + 1) * step, self.decimals) if 0 < count <= GRID_LIMIT else None
            )
            yield (a, b), grid


@dataclass(frozen=True)
class ModelOutput:
    """One released regression: ``outcome ~ predictors`` with its coefficients by term."""

    outcome: str
    family: str  # "logistic" | "linear"
    predictors: tuple[str, ...]
    terms: tuple[str, ...]
    coefficients: tuple[float, ...]
    n: int
    source: str = ""
    event: object = None  # logistic: the outcome level coded 1
    standard_errors: tuple[float, ...] | None = None
    randomised_only: bool = False  # fitted on the rows with an arm (the first predictor) only

    def as_dict(self) -> dict[str, float]:
        return dict(zip(self.terms, self.coefficients, strict=True))

    @property
    def spec(self) -> tuple:
        return (self.outcome, self.family, self.predictors, self.terms)


@dataclass(frozen=True)
class ReleasedOutputs:
    n_rows: int
    variables: tuple[VariableOutput, ...]
    models: tuple[ModelOutput, ...]
    rules: dict = field(default_factory=dict)
    log: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    cluster: str | None = None
    cluster_sizes: tuple[int, ...] = ()
    columns: tuple[str, ...] = ()  # column order of the released file (variables and cluster)
    clearance: tuple[dict, ...] = ()  # the clearance report: every check, where it fired, what it did
    cluster_arms: tuple = ()  # each released school's arm, where schools were randomised whole
    school_icc: float | None = None  # the ICC of ``icc_outcome`` by school, as released
    icc_outcome: str | None = None
    treatment: str | None = None
    latent_names: tuple[str, ...] = ()  # the associations' columns: variables and missingness
    latent_correlations: tuple[tuple[float, ...], ...] = ()  # their rank correlations, as released
    latent_orders: tuple[tuple[str, tuple[int, ...]], ...] = ()  # a nominal variable's levels' order

    def variable(self, name: str) -> VariableOutput:
        for variable in self.variables:
            if variable.name == name:
                return variable
        raise KeyError(name)

    @property
    def names(self) -> list[str]:
        return [v.name for v in self.variables]

    def to_dict(self) -> dict:
        return {"format": FORMAT_VERSION, **asdict(self)}

    def to_json(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=1, default=_json_default), encoding="utf-8")

    @classmethod
    def from_dict(cls, raw: dict) -> ReleasedOutputs:
        if raw.get("format") != FORMAT_VERSION:
            raise TrialDataError(f"released outputs: unsupported format {raw.get('format')!r}")
        try:
            variables = tuple(
                VariableOutput(
                    **{
                        **v,
                        "proportions": tuple(v["proportions"]),
                        "levels": tuple(v["levels"]) if v.get("levels") is not None else None,
                        "edges": tuple(v["edges"]) if v.get("edges") is not None else None,
                        "atoms": tuple(v.get("atoms", ())),
                        "atom_shares": tuple(v.get("atom_shares", ())),
                    }
                )
                for v in raw["variables"]
            )
            models = tuple(
                ModelOutput(
                    **{
                        **m,
                        "predictors": tuple(m["predictors"]),
                        "terms": tuple(m["terms"]),
                        "coefficients": tuple(m["coefficients"]),
                        "standard_errors": tuple(m["standard_errors"]) if m.get("standard_errors") else None,
                    }
                )
                for m in raw["models"]
            )
            return cls(
                n_rows=int(raw["n_rows"]),
                variables=variables,
                models=models,
                rules=dict(raw.get("rules", {})),
                log=tuple(raw.get("log", ())),
                sources=tuple(raw.get("sources", ())),
                cluster=raw.get("cluster"),
                cluster_sizes=tuple(raw.get("cluster_sizes", ())),
                columns=tuple(raw.get("columns", ())),
                clearance=tuple(raw.get("clearance", ())),
                cluster_arms=tuple(raw.get("cluster_arms", ())),
                school_icc=raw.get("school_icc"),
                icc_outcome=raw.get("icc_outcome"),
                treatment=raw.get("treatment"),
                latent_names=tuple(raw.get("latent_names", ())),
                latent_correlations=tuple(tuple(row) for row in raw.get("latent_correlations", ())),
                latent_orders=tuple((n, tuple(o)) for n, o in raw.get("latent_orders", ())),
            )
        except (KeyError, TypeError) as exc:
            raise TrialDataError(f"released outputs: malformed entry ({type(exc).__name__}: {exc})") from None

    @classmethod
    def from_json(cls, path: str | Path) -> ReleasedOutputs:
        try:
            raw = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise TrialDataError(f"released outputs {path}: cannot be read ({exc})") from None
        return cls.from_dict(raw)

    def summary(self) -> dict:
        """What the catalogue stores about the outputs a synthesis used (all of it is cleared)."""
        return {
            "n_rows": self.n_rows,
            "sources": list(self.sources),
            "rules": self.rules,
            "log": list(self.log),
            "clearance": list(self.clearance),
            "models": [
                {
                    "outcome": m.outcome,
                    "family": m.family,
                    "n": m.n,
                    "source": m.source,
                    "coefficients": m.as_dict(),
                }
                for m in self.models
            ],
        }


def _json_default(value: object):
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
