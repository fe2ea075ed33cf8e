"""What a trial's report may show of the real data: aggregates under the small-cell rule.

Computed on the secure side from the cleaned real rows and the released synthetic file; the
report is rendered from these and from the catalogue record, never from rows. The rule is the
released outputs' (``outputs.clearance.ClearanceRules.min_cell_count``, 10 pupils):

- a histogram bar or a category bar of the **real** data counting fewer than ``min_cell`` pupils
  is not drawn (its count is ``None``); categories under the minimum are pooled into one bar
  ("other") when the pool reaches it. Bin edges are rounded outward to 2 significant figures, so
  a real extreme value is not printed; bins in the tails holding fewer than ``min_cell`` real
  pupils are suppressed like any other;
- a real missing share is shown only when both the missing and the observed rows number 0 or at
  least ``min_cell``;
- correlations are over continuous columns with at least ``min_cell`` complete pairs;
- school sizes are summarised by their quartiles rounded to a multiple of 5 (a school's size
  is a quasi-identifier), and only with at least ``min_cell`` schools.

Synthetic counts are shown as they are: the file is released.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from trialsynth.meta import TrialMeta
from trialsynth.missing import as_label

MIN_CELL = 10  # the released outputs' minimum cell count (outputs.clearance.ClearanceRules)
BINS = 20
MAX_LEVELS = 30  # categories drawn per column; the rest pooled into "other"


def secure_aggregates(
    real: pd.DataFrame, synthetic: pd.DataFrame, meta: TrialMeta, min_cell: int = MIN_CELL
) -> dict[str, Any]:
    """Per column distributions and missingness, correlation matrices and school sizes, as JSON."""
    columns = [c for c in meta.columns if c != meta.cluster and c in synthetic.columns]
    out: dict[str, Any] = {"min_cell": min_cell, "columns": [], "correlation": None, "schools": None}
    for name in columns:
        kind = meta.kinds[name]
        entry: dict[str, Any] = {"name": name, "kind": kind}
        entry["missing"] = _missing(real[name], synthetic[name], min_cell)
        numeric = kind == "continuous" and pd.api.types.is_numeric_dtype(real[name])
        if numeric:
            entry["histogram"] = _histogram(real[name], synthetic[name], min_cell)
        else:
            entry["bars"] = _bars(real[name], synthetic[name], min_cell)
        out["columns"].append(entry)
    out["correlation"] = _correlations(real, synthetic, meta, columns, min_cell)
    if meta.cluster and meta.cluster in real.columns:
        out["schools"] = {
            "real": _school_sizes(real[meta.cluster], min_cell),
            "synthetic": _school_sizes(synthetic[meta.cluster], min_cell),
        }
    return out


def _missing(real: pd.Series, synth: pd.Series, min_cell: int) -> dict[str, Any]:
    missing = int(real.isna().sum())
    observed = len(real) - missing
    shown = all(count == 0 or count >= min_cell for count in (missing, observed))
    return {
        "real": round(missing / len(real), 3) if shown and len(real) else None,
        "synthetic": round(float(synth.isna().mean()), 3) if len(synth) else None,
    }


def _nice_edges(low: float, high: float, bins: int) -> np.ndarray:
    """``bins`` equal bins covering [low, high], the ends rounded outward to 2 significant figures."""
    if not math.isfinite(low) or not math.isfinite(high):
        return np.array([0.0, 1.0])
    if high <= low:
        high = low + 1.0
    step = 10 ** (math.floor(math.log10(high - low)) - 1)
    start, stop = math.floor(low / step) * step, math.ceil(high / step) * step
    return np.linspace(start, stop, bins + 1)


def _histogram(real: pd.Series, synth: pd.Series, min_cell: int) -> dict[str, Any]:
    r = pd.to_numeric(real, errors="coerce").dropna().to_numpy(dtype=float)
    s = pd.to_numeric(synth, errors="coerce").dropna().to_numpy(dtype=float)
    values = np.concatenate([r, s]) if len(s) else r
    edges = _nice_edges(
        float(np.min(values)) if len(values) else 0.0, float(np.max(values)) if len(values) else 1.0, BINS
    )
    real_counts = np.histogram(np.clip(r, edges[0], edges[-1]), edges)[0]
    synth_counts = np.histogram(np.clip(s, edges[0], edges[-1]), edges)[0]
    return {
        "edges": [float(e) for e in edges],
        "real": [int(c) if c >= min_cell else None for c in real_counts],
        "synthetic": [int(c) for c in synth_counts],
        "real_total": len(r),
        "synthetic_total": len(s),
    }


def _bars(real: pd.Series, synth: pd.Series, min_cell: int) -> dict[str, Any]:
    real_counts = real.dropna().map(as_label).value_counts()
    synth_counts = synth.dropna().map(as_label).value_counts()
    shown = [level for level, count in real_counts.items() if count >= min_cell][:MAX_LEVELS]
    other_real = int(real_counts.drop(shown).sum())
    levels = [str(level) for level in shown]
    real_list: list[int | None] = [int(real_counts[level]) for level in shown]
    synth_list = [int(synth_counts.get(level, 0)) for level in shown]
    other_synth = int(synth_counts.drop([lv for lv in shown if lv in synth_counts.index]).sum())
    if other_real or other_synth:
        levels.append("other")
        real_list.append(other_real if other_real >= min_cell else None)
        synth_list.append(other_synth)
    return {
        "levels": levels,
        "real": real_list,
        "synthetic": synth_list,
        "real_total": int(real_counts.sum()),
        "synthetic_total": int(synth_counts.sum()),
    }


def _correlations(
    real: pd.DataFrame, synth: pd.DataFrame, meta: TrialMeta, columns: list[str], min_cell: int
) -> dict[str, Any] | None:
    continuous = [
        c for c in columns if meta.kinds[c] == "continuous" and pd.api.types.is_numeric_dtype(real[c])
    ]
    continuous = [c for c in continuous if real[c].notna().sum() >= min_cell and real[c].nunique() > 1]
    if len(continuous) < 2:
        return None
    with np.errstate(invalid="ignore", divide="ignore"):
        r = real[continuous].corr(min_periods=min_cell).round(3)
        s = synth[continuous].apply(pd.to_numeric, errors="coerce").corr(min_periods=min_cell).round(3)

    def matrix(frame: pd.DataFrame) -> list[list[float | None]]:
        return [[None if pd.isna(v) else float(v) for v in row] for row in frame.to_numpy()]

    return {
        "columns": continuous,
        "real": matrix(r),
        "synthetic": matrix(s),
        "difference": matrix((s - r).round(3)),
    }


def _school_sizes(labels: pd.Series, min_cell: int) -> dict[str, Any] | None:
    sizes = labels.dropna().value_counts()
    if len(sizes) < min_cell:
        return None
    q = np.quantile(sizes.to_numpy(), [0.25, 0.5, 0.75])
    return {"schools": int(len(sizes)), "quartiles": [int(5 * round(float(v) / 5)) for v in q]}
