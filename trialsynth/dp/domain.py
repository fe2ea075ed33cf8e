"""What a differentially private release's public domain does not declare, estimated under DP
with a declared share of the budget (``estimate: true``, ``complete``); and domains drafted from
data that is itself public.

- **category levels and missing states** by thresholded noisy counts (Gaussian partition
  selection): each value's count gets discrete Gaussian noise and the value enters the domain
  only when its noisy count exceeds ``1 + 1 + sigma * z``, z chosen so that a value held by one
  record alone passes with probability at most ``delta_selection`` over all selections;
- **bounds** of continuous columns from a noisy histogram over a fixed public ladder of bins
  (0, +-2^-4 ... +-2^40): the bounds are the outer edges of the outermost bins whose noisy count
  passes the same threshold.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd

from trialsynth.domain import (
    LADDER,
    MISSING_LABEL,
    ColumnDomain,
    Kind,
    PublicDomain,
    canonical_label,
    decimals_of,
    label_value,
)
from trialsynth.dp.noise import Noise


def selection_threshold(sigma: float, delta_selection: float, selections: int, held: int = 1) -> float:
    """Noisy count a value held by one record must exceed to enter the domain: with discrete
    Gaussian noise of ``sigma``, such a value passes with probability at most
    ``delta_selection / selections`` (one more count of margin covers the discrete tail). A
    record of ``held`` rows (a long file's pupil) counts up to ``held`` in up to ``held`` values
    of each histogram: the threshold starts at its count and each value takes its share."""
    if not 0 < delta_selection < 1:
        raise ValueError(f"The 'delta_selection' parameter must be in (0, 1). Got {delta_selection!r}.")
    z = NormalDist().inv_cdf(1 - delta_selection / (max(selections, 1) * held))
    return held + 1.0 + sigma * z


def estimation_sigma(rho: float, histograms: int) -> float:
    """Noise of each histogram when ``histograms`` are measured with ``rho`` in all: under
    replace-one a record moves one count of each histogram (L2 sensitivity sqrt 2 each)."""
    return float(np.sqrt(histograms / rho))


def complete(
    data: pd.DataFrame,
    domain: PublicDomain,
    rho: float,
    delta_selection: float,
    noise: Noise,
    held: int = 1,
) -> tuple[PublicDomain, dict[str, Any]]:
    """Estimate every undeclared part of ``domain`` from ``data`` under rho-zCDP plus
    ``delta_selection`` (see the module docstring); returns the completed domain and a record of
    what was estimated with the noise used. The domain as declared is returned unchanged."""
    todo = [c for c in domain.columns if c.undeclared()]
    if not todo:
        return domain, {}
    if not domain.estimate:
        raise ValueError(f"undeclared domain parts {domain.undeclared()} and estimate is false")
    sigma = estimation_sigma(rho, len(todo))
    threshold = selection_threshold(sigma, delta_selection, len(todo), held)
    completed = {c.name: c for c in domain.columns}
    estimated: dict[str, Any] = {}
    for column in todo:
        values = data[column.name]
        if column.continuous:
            completed[column.name], estimated[column.name] = _estimate_continuous(
                values, column, sigma, threshold, noise
            )
        else:
            completed[column.name], estimated[column.name] = _estimate_levels(
                values, column, sigma, threshold, noise
            )
    record = {"sigma": sigma, "threshold": threshold, "rho": rho, "delta_selection": delta_selection}
    return replace(domain, columns=tuple(completed[c.name] for c in domain.columns)), {
        **record,
        "columns": estimated,
    }


def _estimate_levels(
    values: pd.Series, column: ColumnDomain, sigma: float, threshold: float, noise: Noise
) -> tuple[ColumnDomain, dict]:
    """Levels (when undeclared) and the missing state (when undeclared) by partition selection.
    Declared levels are never dropped; only values the data holds are candidates."""
    labels = values.map(lambda v: MISSING_LABEL if pd.isna(v) else canonical_label(v))
    counts = labels.value_counts()
    noisy = counts.to_numpy() + noise.discrete_gaussian(sigma, len(counts))
    passed = [label for label, n in zip(counts.index, noisy, strict=True) if n > threshold]
    levels = column.levels
    if levels is None:
        found = sorted((label for label in passed if label != MISSING_LABEL), key=_order)
        levels = tuple(label_value(label) for label in found)  # from the label, never the data's type
    missing = column.missing if column.missing is not None else MISSING_LABEL in passed
    if not levels and not missing:  # nothing passed: every value goes to the missing state
        missing = True
    kind = column.kind if column.levels is not None else None  # estimated levels decide the kind
    done = replace(column, levels=levels, missing=missing, kind=kind)
    return done, {"levels": len(levels or ()), "missing": missing}


def _order(label: str) -> tuple:
    try:
        return (0, float(label), label)
    except ValueError:
        return (1, 0.0, label)


def _estimate_continuous(
    values: pd.Series, column: ColumnDomain, sigma: float, threshold: float, noise: Noise
) -> tuple[ColumnDomain, dict]:
    """Bounds (when undeclared) from a noisy histogram on ``LADDER`` bins, and the missing state
    (when undeclared) from the same histogram's missing bin."""
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    present = numbers[~np.isnan(numbers)]
    edges = np.asarray(LADDER)
    # bin i holds [edges[i-1], edges[i]); bin 0 everything below edges[0], the last everything above
    counts = np.bincount(np.searchsorted(edges, present, side="right"), minlength=edges.size + 1)
    counts = np.append(counts, np.isnan(numbers).sum())  # the missing bin
    noisy = counts + noise.discrete_gaussian(sigma, counts.size)
    bins = np.flatnonzero(noisy[:-1] > threshold)
    bounds = column.bounds
    if bounds is None:
        if bins.size == 0:
            bins = np.array([int(np.argmax(noisy[:-1]))])
        low = edges[max(bins[0] - 1, 0)]
        high = edges[min(bins[-1], edges.size - 1)]
        bounds = (float(low), float(high)) if low < high else (float(low), float(low) + 1.0)
    missing = column.missing if column.missing is not None else bool(noisy[-1] > threshold)
    done = replace(column, bounds=bounds, missing=missing)
    return done, {"bounds": list(bounds), "missing": missing}


# -- public data only ---------------------------------------------------------------------------


def draft_domain(
    frame: pd.DataFrame,
    kinds: Mapping[str, Kind],
    bounds: Mapping[str, tuple[float, float]] | None = None,
    *,
    source: str = "drafted from public data",
) -> PublicDomain:
    """A domain read off ``frame`` - only for data that is itself public (a surrogate, the demo
    archive) or as an operator's draft to review before it is published as a codebook: levels,
    missing states and precision here come from the rows."""
    bounds = dict(bounds or {})
    columns = []
    for name, kind in kinds.items():
        values = frame[name]
        missing = bool(values.isna().any())
        if kind == "continuous":
            present = pd.to_numeric(values, errors="coerce").dropna()
            low, high = bounds.get(name, (float(present.min()), float(present.max())))
            high = high if high > low else low + 1.0
            columns.append(
                ColumnDomain(
                    name, "continuous", bounds=(low, high), missing=missing, decimals=decimals_of(present)
                )
            )
        else:
            labels = {canonical_label(v) for v in values.dropna()}
            levels = [label_value(label) for label in sorted(labels, key=_order)]
            columns.append(ColumnDomain(name, kind, levels=tuple(levels), missing=missing))
    return PublicDomain(tuple(columns), source=source)
