"""Discretisation for marginal-based methods (MST): every column becomes codes 0..k-1 over its
**public domain** (``trialsynth.domain``) - nothing about the codes is read from the data.

- Continuous columns are cut into ``n_bins`` equal-width bins between the domain's bounds;
  values outside the bounds are clipped into the end bins.
- Categorical and binary columns keep one code per declared level.
- A column whose domain allows missing values has one more code, its missing state. A value the
  domain does not hold (an undeclared label, text in a continuous column, a missing value in a
  column declared never missing) goes to the missing state, or - without one - to the first
  level or the middle bin.

Decoding draws a value uniformly within its bin (or, where the column's atoms were selected under
DP, one of the bin's atoms in their noisy share: ``dp.atoms``) and rounds it to the domain's
precision; the missing code becomes missing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from trialsynth.domain import PublicDomain, level_codes
from trialsynth.dp.atoms import Atoms, draw_within
from trialsynth.errors import TrialDataError


@dataclass(frozen=True)
class ColumnBins:
    name: str
    labels: tuple | None = None  # categorical: the label of each code
    edges: tuple[float, ...] | None = None  # continuous: n_bins + 1 edges
    has_missing_code: bool = True

    @property
    def codes_labels(self) -> tuple:
        """``labels``, for a categorical column (an error for a binned one)."""
        if self.labels is None:
            raise ValueError(f"column {self.name!r} is binned: it has no labels")
        return self.labels

    @property
    def size(self) -> int:
        base = len(self.edges) - 1 if self.edges is not None else len(self.codes_labels)
        return base + int(self.has_missing_code)

    def describe(self) -> dict:
        if self.edges is not None:
            bounds = [self.edges[0], self.edges[-1]]
            return {"bins": len(self.edges) - 1, "bounds": bounds, "na_code": self.has_missing_code}
        return {"categories": len(self.codes_labels), "na_code": self.has_missing_code}


def bins_from_domain(domain: PublicDomain, n_bins: int) -> dict[str, ColumnBins]:
    """The bin scheme of every column of a complete public domain."""
    undeclared = domain.undeclared()
    if undeclared:
        raise TrialDataError(
            f"the public domain is incomplete ({undeclared}): declare it in the trial's domain "
            "or codebook, or set estimate: true"
        )
    scheme = {}
    for column in domain.columns:
        missing = bool(column.missing)
        if column.continuous:
            low, high = column.bounds  # type: ignore[misc]
            edges = tuple(np.linspace(low, high, n_bins + 1).tolist())
            scheme[column.name] = ColumnBins(column.name, edges=edges, has_missing_code=missing)
        else:
            scheme[column.name] = ColumnBins(column.name, labels=column.levels, has_missing_code=missing)
    return scheme


def encode(data: pd.DataFrame, scheme: dict[str, ColumnBins]) -> dict[str, np.ndarray]:
    """Codes of every value, each mapped on its own (see the module docstring)."""
    codes = {}
    for name, bins in scheme.items():
        column = data[name]
        if bins.edges is not None:
            numbers = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            values = np.digitize(numbers, np.asarray(bins.edges[1:-1]))
            outside = np.isnan(numbers)
            fallback = (len(bins.edges) - 1) // 2  # the middle bin
        else:
            values = level_codes(column, bins.codes_labels)
            outside = values < 0
            fallback = 0
        codes[name] = np.where(outside, bins.size - 1 if bins.has_missing_code else fallback, values).astype(
            np.int64
        )
    return codes


def decode(
    codes: dict[str, np.ndarray],
    scheme: dict[str, ColumnBins],
    decimals: dict[str, int],
    rng,
    atoms: dict[str, Atoms] | None = None,
    bin_mass: dict[str, np.ndarray] | None = None,
) -> pd.DataFrame:
    """Values of drawn codes; a continuous column with ``atoms`` (``dp.atoms``) takes one of its
    bin's atoms in their noisy share of the bin's noisy count (``bin_mass``)."""
    atoms, bin_mass = atoms or {}, bin_mass or {}
    columns = {}
    for name, bins in scheme.items():
        code = np.asarray(codes[name], dtype=np.int64)
        missing = (code == bins.size - 1) if bins.has_missing_code else np.zeros(code.size, dtype=bool)
        if bins.edges is not None:
            edges = np.asarray(bins.edges)
            index = np.clip(code, 0, len(edges) - 2)
            values = rng.uniform(edges[index], edges[index + 1]).round(decimals.get(name, 6))
            if name in atoms:  # atoms are counted at the released precision
                values = draw_within(atoms[name], edges, bin_mass.get(name), index, values, rng)
            columns[name] = np.where(missing, np.nan, values)
        else:
            labels = np.asarray((*bins.codes_labels, None), dtype=object)
            columns[name] = pd.Series(labels[np.clip(code, 0, len(labels) - 1)], dtype=object).where(
                ~missing, None
            )
    return pd.DataFrame(columns)
