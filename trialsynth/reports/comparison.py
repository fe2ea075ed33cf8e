"""A comparison of methods on one trial (``trialsynth.run.compare``) as files: the table as JSON and
CSV, and an HTML page in the trial report's style that links each candidate's own report."""

from __future__ import annotations

import csv
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from trialsynth.data.files import write_atomically
from trialsynth.reports.trial_report import environment, fmt, page_css

TUNING_NOTE = (
    "Tuning: CART's visit order and minimum leaf size by optuna on the training rows (|log pMSE "
    "ratio| plus a penalty for dcr_share over its limit); cart-default and cart-synthpop untuned; MST "
    "on a public surrogate; AIM and synthcity's generators untuned. MST and AIM are never tuned on real "
    "rows, and a comparison's fits are not charged to the epsilon ledger: its files are never released. "
    "synthcity's generators record a nominal epsilon but are not differentially private (their encoder "
    "reads the real rows without noise)."
)


def write_comparison(
    rows: list[dict[str, Any]],
    folder: Path,
    *,
    archive: str,
    trial_id: str,
    comparison_id: str,
    metric_keys: tuple[str, ...],
) -> dict[str, Path]:
    """``comparison.json``, ``comparison.csv`` and ``comparison.html`` in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {kind: folder / f"comparison.{kind}" for kind in ("json", "csv", "html")}
    write_atomically(json.dumps(rows, indent=2, default=str), paths["json"])
    lines = [
        ["method", "status", "ons_category", *metric_keys, "epsilon", "tune_s", "fit_s", "seconds", "error"]
    ]
    for row in rows:
        metrics = row.get("metrics") or {}
        lines.append(
            [
                row["method"],
                row["status"],
                row.get("ons_category") or "",
                *[metrics.get(k, "") for k in metric_keys],
            ]
            + [
                row.get(k) if row.get(k) is not None else ""
                for k in ("epsilon", "tune_s", "fit_s", "seconds")
            ]
            + [row.get("error") or ""]
        )
    tmp = paths["csv"].with_suffix(".csv.partial")
    with open(tmp, "w", newline="") as handle:
        csv.writer(handle).writerows(lines)
    os.replace(tmp, paths["csv"])
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
            metric_keys=metric_keys,
            archive=archive,
            trial_id=trial_id,
            comparison_id=comparison_id,
            generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            css=page_css(),
            fmt=fmt,
            tuning_note=TUNING_NOTE,
        )
    )
    write_atomically(html, paths["html"])
    return paths
