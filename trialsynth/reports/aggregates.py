"""What a trial's report may show of the real data: aggregates under the small-cell rule.

Computed on the secure side from the cleaned real rows and the released synthetic file; the
report is rendered from these and from the catalogue record, never from rows. The rule is the
released outputs' (``outputs.clearance.ClearanceRules.min_cell_count``, 10 pupils):

- a histogram bar or a category bar of the **real** data counting fewer than ``min_cell`` pupils
  is not drawn (its count is ``None``); categories under the minimum are pooled into one bar
  ("other"). A column's bars and its missing rows are one table whose total (the trial's rows)
  is public, so suppression is completed as output checkers do (secondary suppression): more
  cells are hidden, smallest first, until the hidden cells together hold 0 or at least
  ``min_cell`` pupils - what subtraction recovers is then a safe count. Shares are of all the
  trial's rows, missing included;
- bin edges lie on a coarse grid (half a power of ten of the range) and strictly outside the
  data, so no real extreme value is printed;
- correlations are over continuous columns with at least ``min_cell`` complete pairs;
- school sizes are summarised by their quartiles rounded to a multiple of 5 (a school's size
  is a quasi-identifier), and only with at least ``min_cell`` schools.

Synthetic counts are shown as they are: the file is released.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from trialsynth.meta import TrialMeta
from trialsynth.missing import as_label

log = logging.getLogger(__name__)

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
        numeric = kind == "continuous" and pd.api.types.is_numeric_dtype(real[name])
        if numeric:
            entry["histogram"] = _histogram(real[name], synthetic[name], min_cell)
            cells = entry["histogram"]
        else:
            entry["bars"] = _bars(real[name], synthetic[name], min_cell)
            cells = entry["bars"]
        # the column's bars and its missing rows: one table, suppressed together
        missing = int(real[name].isna().sum())
        shown = suppress([*cells.pop("real_counts"), missing], min_cell)
        cells["real"] = _shares(shown[:-1], len(real))
        entry["missing"] = {
            "real": _shares(shown[-1:], len(real))[0],
            "synthetic": round(float(synthetic[name].isna().mean()), 4) if len(synthetic) else None,
        }
        out["columns"].append(entry)
    out["correlation"] = _correlations(real, synthetic, meta, columns, min_cell)
    if meta.cluster and meta.cluster in real.columns:
        out["schools"] = {
            "real": _school_sizes(real[meta.cluster], min_cell),
            "synthetic": _school_sizes(synthetic[meta.cluster], min_cell),
        }
    return out


def suppress(counts: list[int], min_cell: int) -> list[int | None]:
    """Cells of one table whose total is public: those under ``min_cell`` hidden (primary), then
    the smallest shown ones too until the hidden cells hold 0 or at least ``min_cell`` together
    (secondary), so no hidden cell can be recovered by subtraction from the total."""
    shown: list[int | None] = [c if c == 0 or c >= min_cell else None for c in counts]
    hidden = sum(c for c, s in zip(counts, shown, strict=True) if s is None)
    for index in sorted(range(len(counts)), key=lambda i: counts[i]):
        if hidden == 0 or hidden >= min_cell:
            break
        if shown[index] is not None and counts[index] > 0:
            shown[index] = None
            hidden += counts[index]
    return shown


def _shares(counts: Sequence[int | None], total: int) -> list[float | None]:
    return [None if c is None or not total else round(c / total, 4) for c in counts]


def _nice_edges(low: float, high: float, bins: int) -> np.ndarray:
    """``bins`` equal bins from below ``low`` to above ``high``, the ends on a grid of half a
    power of ten of the range and strictly outside [low, high]: an end never equals a value."""
    if not math.isfinite(low) or not math.isfinite(high):
        return np.array([0.0, 1.0])
    if high <= low:
        high = low + 1.0
    step = 10 ** math.floor(math.log10(high - low)) / 2
    start, stop = math.floor(low / step) * step, math.ceil(high / step) * step
    start -= step if start == low else 0.0
    stop += step if stop == high else 0.0
    return np.linspace(start, stop, bins + 1)


def _histogram(real: pd.Series, synth: pd.Series, min_cell: int) -> dict[str, Any]:
    r = pd.to_numeric(real, errors="coerce").dropna().to_numpy(dtype=float)
    s = pd.to_numeric(synth, errors="coerce").dropna().to_numpy(dtype=float)
    values = np.concatenate([r, s]) if len(s) else r
    low = float(np.min(values)) if len(values) else 0.0
    high = float(np.max(values)) if len(values) else 1.0
    edges = _nice_edges(low, high, BINS)
    synth_counts = np.histogram(np.clip(s, edges[0], edges[-1]), edges)[0]
    return {
        "edges": [float(e) for e in edges],
        "real_counts": [int(c) for c in np.histogram(r, edges)[0]],  # suppressed by the caller
        "synthetic": _shares([int(c) for c in synth_counts], len(synth)),
    }


def _bars(real: pd.Series, synth: pd.Series, min_cell: int) -> dict[str, Any]:
    real_counts = real.dropna().map(as_label).value_counts()
    synth_counts = synth.dropna().map(as_label).value_counts()
    shown = [level for level, count in real_counts.items() if count >= min_cell][:MAX_LEVELS]
    counts = [int(real_counts[level]) for level in shown]
    levels = [str(level) for level in shown]
    synth_list = [int(synth_counts.get(level, 0)) for level in shown]
    other_real = int(real_counts.drop(shown).sum())
    other_synth = int(synth_counts.drop([lv for lv in shown if lv in synth_counts.index]).sum())
    if other_real or other_synth:
        levels.append("other")
        counts.append(other_real)
        synth_list.append(other_synth)
    return {"levels": levels, "real_counts": counts, "synthetic": _shares(synth_list, len(synth))}


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


@dataclass(frozen=True)
class Aggregated:
    """What the trial's report may show of the real data: aggregates under the small-cell rule,
    kept for the report and never recorded in the catalogue; or why they could not be computed
    (the release stands without its report)."""

    aggregates: dict[str, Any] | None = field(default=None, repr=False)
    error: str | None = None

    def record(self) -> dict[str, Any]:
        return {"lineage": {"report_error": self.error}} if self.error else {}


def aggregate(real: pd.DataFrame, synthetic: pd.DataFrame, meta: TrialMeta) -> Aggregated:
    """The report's view of the real data and of the file as released (after the gate); a
    failure is recorded, never a reason to withhold the release."""
    try:
        return Aggregated(secure_aggregates(real, synthetic, meta))
    except Exception as exc:  # noqa: BLE001 - the report is lost, not the release
        log.exception("aggregating the report's view failed")
        return Aggregated(error=f"{type(exc).__name__}: {exc}")
