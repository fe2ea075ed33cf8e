"""A comparison of methods on one trial (``trialsynth.run.compare``) as files: the candidates
ranked (``ranked``), the table as JSON and CSV, and an HTML page in the trial report's style that
sets each candidate's fidelity - the measures that decide its ONS category - beside its
disclosure - the release gate's verdict on each measure - and links its own report."""

from __future__ import annotations

import csv
import json
import math
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from trialsynth.data.files import write_atomically
from trialsynth.evaluation.categories import CATEGORIES
from trialsynth.reports.trial_report import environment, fmt, page_css

# what decides the category (``evaluation.categories``), and the release gate's measures
FIDELITY_KEYS = (
    "feature_density_mad",
    "corr_msd",
    "corr_ratio_msd",
    "pmse_ratio",
    "f1_diff",
    "effect_ci_overlap",
)
RISK_KEYS = (
    "replicated_uniques",
    "singling_out_risk",
    "linkability_risk",
    "inference_risk",
    "dcr_share",
    "school_reidentification",
)
RANKING = (
    "Ranked: candidates with a file first; among them, a file the release gate would pass before "
    "one it would refuse, then the higher ONS category, then the pMSE ratio nearer 1 (|log ratio|); "
    "failed and unavailable candidates last, unranked."
)
TUNING_NOTE = (
    "Tuning: CART's visit order and minimum leaf size by optuna on the training rows (|log pMSE "
    "ratio| plus a penalty for dcr_share over its limit); cart-default and cart-synthpop untuned; MST "
    "on a public surrogate; AIM and synthcity's generators untuned. MST and AIM are never tuned on real "
    "rows, and a comparison's fits are not charged to the epsilon ledger: its files are never released. "
    "Where a trial declares no public domain, MST and AIM run on one drafted from its data for the "
    "comparison alone: such a file is not differentially private. synthcity's generators record a "
    "nominal epsilon but are not differentially private (their encoder reads the real rows without noise)."
)


def _order(row: dict[str, Any]) -> tuple[float, ...]:
    if row["status"] != "succeeded":
        return (1.0, 0.0, 0.0, 0.0)
    category = row.get("ons_category")
    level = CATEGORIES.index(category) if category in CATEGORIES and category != "replica" else -1
    ratio = (row.get("metrics") or {}).get("pmse_ratio")
    distance = abs(math.log(ratio)) if isinstance(ratio, int | float) and ratio > 0 else math.inf
    refused = 0.0 if row.get("would_release") is not False else 1.0
    return (0.0, refused, -float(level), distance)


def ranked(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows in rank order (``RANKING``), each with its ``rank`` (None: not ranked) and
    ``over``: the release gate's measures the file is over or could not measure."""
    out = []
    for position, row in enumerate(sorted(rows, key=_order), 1):
        verdicts = row.get("verdicts") or {}
        over = [name for name, check in verdicts.items() if check.get("verdict") != "within"]
        rank = position if row["status"] == "succeeded" else None
        out.append({**row, "rank": rank, "over": over})
    return out


def risk_value(row: dict[str, Any], key: str) -> Any:
    """A disclosure measure's value: the verdict's, else the metric's."""
    check = (row.get("verdicts") or {}).get(key)
    return check["value"] if check else (row.get("metrics") or {}).get(key)


def write_comparison(
    rows: list[dict[str, Any]],
    folder: Path,
    *,
    archive: str,
    trial_id: str,
    comparison_id: str,
) -> dict[str, Path]:
    """``comparison.json``, ``comparison.csv`` and ``comparison.html`` in ``folder``, the rows
    ranked."""
    rows = ranked(rows) if rows and "rank" not in rows[0] else rows
    folder.mkdir(parents=True, exist_ok=True)
    paths = {kind: folder / f"comparison.{kind}" for kind in ("json", "csv", "html")}
    write_atomically(json.dumps(rows, indent=2, default=str), paths["json"])
    _write_csv(rows, paths["csv"])
    shown = [
        {
            **row,
            "report_href": os.path.relpath(row["report_path"], folder) if row.get("report_path") else None,
        }
        for row in rows
    ]
    html = (
        environment()
        .get_template("comparison.html.j2")
        .render(
            rows=shown,
            fidelity_keys=FIDELITY_KEYS,
            risk_keys=RISK_KEYS,
            risk_value=risk_value,
            archive=archive,
            trial_id=trial_id,
            comparison_id=comparison_id,
            generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            css=page_css(),
            fmt=fmt,
            ranking=RANKING,
            tuning_note=TUNING_NOTE,
        )
    )
    write_atomically(html, paths["html"])
    return paths


def _write_csv(rows: list[dict[str, Any]], path: Path) -> None:
    times = ("epsilon", "tune_s", "fit_s", "seconds")
    lines = [
        [
            "rank",
            "method",
            "status",
            "ons_category",
            "would_release",
            "over",
            *FIDELITY_KEYS,
            *RISK_KEYS,
            *times,
            "domain",
            "error",
        ]
    ]
    for row in rows:
        metrics = row.get("metrics") or {}
        lines.append(
            [row["rank"] or "", row["method"], row["status"], row.get("ons_category") or ""]
            + [_blank(row.get("would_release")), ";".join(row["over"])]
            + [_blank(metrics.get(k)) for k in FIDELITY_KEYS]
            + [_blank(risk_value(row, k)) for k in RISK_KEYS]
            + [_blank(row.get(k)) for k in times]
            + [row.get("domain") or "", row.get("error") or ""]
        )
    tmp = path.with_suffix(".csv.partial")
    with open(tmp, "w", newline="") as handle:
        csv.writer(handle).writerows(lines)
    os.replace(tmp, path)


def _blank(value: Any) -> Any:
    return "" if value is None else value
