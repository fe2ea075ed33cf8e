"""Discretisation for marginal-based methods (MST): every column becomes codes 0..k-1.

- Continuous columns are cut into ``n_bins`` equal-width bins between **public bounds** given in
  the manifest (``bounds: {column: [low, high]}``: instrument scales, known ranges). Bounds are
  never read off the private data: a continuous column without bounds is refused. Values outside
  the bounds are clipped into the end bins.
- Categorical and binary columns keep one code per category. Their *domain* (the list of
  possible labels) is taken as public metadata, as in the NIST contest setting; counts are not.
- Missing values are one more code of their own, in each column that has missing values (which
  columns can be missing is schema metadata, public like the labels). Without it, noise would
  invent missing values in complete columns.

Decoding draws a value uniformly within its bin and rounds it to the column's recorded
precision, so the output has the original types; the NA code becomes missing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from trialsynth.errors import TrialDataError
from trialsynth.meta import TrialMeta


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


def fit_bins(
    data: pd.DataFrame, meta: TrialMeta, bounds: dict[str, tuple[float, float]], n_bins: int
) -> dict[str, ColumnBins]:
    """The bin scheme of every column; raises when a continuous column lacks public bounds."""
    missing = [c for c in meta.of_kind("continuous") if c not in bounds]
    if missing:
        raise TrialDataError(
            f"continuous columns {missing} need public bounds for a differentially private method: "
            "add them to the trial's manifest entry as bounds: {column: [low, high]}"
        )
    scheme = {}
    for name in data.columns:
        can_be_missing = bool(data[name].isna().any())
        if meta.kinds[name] == "continuous":
            low, high = bounds[name]
            edges = tuple(np.linspace(low, high, n_bins + 1).tolist())
            scheme[name] = ColumnBins(name, edges=edges, has_missing_code=can_be_missing)
        else:
            labels = tuple(sorted(data[name].dropna().unique().tolist()))
            scheme[name] = ColumnBins(name, labels=labels, has_missing_code=can_be_missing)
    return scheme


def encode(data: pd.DataFrame, scheme: dict[str, ColumnBins]) -> dict[str, np.ndarray]:
    codes = {}
    for name, bins in scheme.items():
        column = data[name]
        missing = column.isna().to_numpy()
        if bins.edges is not None:
            inner = np.asarray(bins.edges[1:-1])
            values = np.digitize(column.to_numpy(dtype=float, na_value=np.nan), inner)
        else:
            lookup = {label: i for i, label in enumerate(bins.codes_labels)}
            values = column.map(lambda v, m=lookup: m.get(v, 0)).to_numpy(dtype=np.int64, na_value=0)
        codes[name] = (
            np.where(missing, bins.size - 1, values).astype(np.int64) if bins.has_missing_code else values
        )
    return codes


def decode(
    codes: dict[str, np.ndarray], scheme: dict[str, ColumnBins], decimals: dict[str, int], rng
) -> pd.DataFrame:
    columns = {}
    for name, bins in scheme.items():
        code = np.asarray(codes[name], dtype=np.int64)
        missing = (code == bins.size - 1) if bins.has_missing_code else np.zeros(code.size, dtype=bool)
        if bins.edges is not None:
            edges = np.asarray(bins.edges)
            index = np.clip(code, 0, len(edges) - 2)
            values = rng.uniform(edges[index], edges[index + 1]).round(decimals.get(name, 6))
            columns[name] = np.where(missing, np.nan, values)
        else:
            labels = np.asarray((*bins.codes_labels, None), dtype=object)
            columns[name] = pd.Series(labels[np.clip(code, 0, len(labels) - 1)], dtype=object).where(
                ~missing, None
            )
    return pd.DataFrame(columns)
