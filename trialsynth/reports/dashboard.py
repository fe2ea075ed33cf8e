"""The archive dashboard: every trial's latest attempt, a run's timeline, the epsilon ledger and
the failures, as one offline HTML page built from the catalogue alone (no data is read)."""

from __future__ import annotations

import os
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from trialsynth.catalogue.models import Attempt, EpsilonCharge
from trialsynth.catalogue.queries import latest_attempts, run_attempts
from trialsynth.catalogue.records import as_record
from trialsynth.data.files import write_atomically
from trialsynth.evaluation.categories import CATEGORIES
from trialsynth.reports import charts
from trialsynth.reports.trial_report import environment, fmt, page_css, plotly_bundle
from trialsynth.synthesisers import method_names

STATUSES = ("succeeded", "unchanged", "skipped", "failed", "running")
KEY_METRICS = (
    "corr_msd",
    "pmse_ratio",
    "feature_density_mad",
    "f1_diff",
    "effect_ci_overlap",
    "icc_synthetic",
)


def dashboard_data(sessions: sessionmaker, run_id: str | None = None) -> dict[str, Any]:
    """What the page shows: the latest attempt of every trial, the attempts of ``run_id`` (the
    newest run when None) for the timeline, and the ledger summed per trial."""
    with sessions() as session:
        latest = [as_record(a) for a in latest_attempts(session)]
        if run_id is None:
            archive_attempts = select(Attempt).where(Attempt.comparison.is_(None))  # not a comparison's
            newest = session.scalars(archive_attempts.order_by(Attempt.id.desc()).limit(1)).first()
            run_id = newest.run_id if newest is not None else None
        run = [as_record(a) for a in run_attempts(session, run_id)] if run_id else []
        if run_id and not run:
            raise LookupError(f"the catalogue has no attempt of run {run_id!r}")
        charges = list(session.scalars(select(EpsilonCharge).order_by(EpsilonCharge.id)))
    spent: dict[tuple[str, str], dict[str, Any]] = defaultdict(lambda: {"epsilon": 0.0, "releases": 0})
    for charge in charges:
        entry = spent[(charge.archive, charge.trial_id)]
        entry["epsilon"] += charge.epsilon
        entry["releases"] += 1
        entry["last"] = charge.charged_at
    ledger = [
        {"archive": archive, "trial_id": trial, "epsilon": round(v["epsilon"], 6), "releases": v["releases"]}
        for (archive, trial), v in sorted(spent.items())
    ]
    return {"latest": latest, "run_id": run_id, "run": run, "ledger": ledger}


def render_dashboard(data: dict[str, Any], out_dir: Path, lifetime: float | None = None) -> str:
    latest = data["latest"]
    rows = []
    for record in latest:
        report = record.get("report_path")
        rows.append(
            {
                **record,
                "report_link": os.path.relpath(report, out_dir) if report else None,
                "key_metrics": [fmt((record.get("metrics") or {}).get(k)) for k in KEY_METRICS],
            }
        )
    timeline_rows = [
        {
            "trial_id": r["trial_id"],
            "status": r["status"],
            "started_at": r["started_at"],
            "duration_ms": 1000 * (r["duration_s"] or 0.0),
        }
        for r in data["run"]
        if r["started_at"]
    ]
    figures = {
        "timeline": charts.to_div(charts.timeline(timeline_rows), "timeline") if timeline_rows else "",
        "ledger": charts.to_div(charts.ledger(data["ledger"], lifetime), "ledger") if data["ledger"] else "",
    }
    counts: dict[str, int] = defaultdict(int)
    for record in latest:
        counts[record["status"]] += 1
    return (
        environment()
        .get_template("dashboard.html.j2")
        .render(
            rows=rows,
            key_metrics=KEY_METRICS,
            run_id=data["run_id"],
            counts=dict(counts),
            failures=[r for r in latest if r["status"] == "failed"],
            ledger=data["ledger"],
            charts=figures,
            methods=sorted({*(r["method"] for r in latest if r["method"]), *method_names()} - {"auto"}),
            categories=list(CATEGORIES),
            statuses=list(STATUSES),
            generated=datetime.now(UTC).isoformat(timespec="seconds"),
            css=page_css(),
            plotly_src=plotly_bundle(out_dir),
        )
    )


def build_dashboard(
    sessions: sessionmaker, out_dir: Path, run_id: str | None = None, lifetime: float | None = None
) -> Path:
    """Write ``dashboard.html`` (and ``dashboard-<run>.html`` for the run it shows) into ``out_dir``;
    returns the run's page, or ``dashboard.html`` when the catalogue has no run."""
    out_dir = Path(out_dir).resolve()
    data = dashboard_data(sessions, run_id)
    page = render_dashboard(data, out_dir, lifetime)
    latest = write_atomically(page, out_dir / "dashboard.html")
    if data["run_id"]:
        return write_atomically(page, out_dir / f"dashboard-{data['run_id']}.html")
    return latest
