"""Screenshots of a trial's report and of the archive dashboard, in headless Chromium.

    python bench/report_screenshots.py --out DIR [--rows 9900] [--cols 22] [--permuted]

Runs one generated demo trial (CART) through the engine into a fresh catalogue under DIR, builds
the dashboard, and writes ``report.png`` and ``dashboard.png`` (full pages, 1300 px wide) beside
the pages. ``--permuted`` also renders the report of the same file with its arm column shuffled
(the ladder's treatment-permuted rung) as ``report-permuted.png``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from registry.demo import TrialShape, write_demo_archive  # noqa: E402
from registry.manifest import load_manifest  # noqa: E402
from registry.plans import build_plans  # noqa: E402
from trialsynth.catalogue import as_record, latest_attempts  # noqa: E402
from trialsynth.catalogue.session import make_engine, make_sessionmaker  # noqa: E402
from trialsynth.plan import RunContext  # noqa: E402
from trialsynth.reports.dashboard import build_dashboard  # noqa: E402
from trialsynth.run.pipeline import run_trial  # noqa: E402


def screenshot(page: Path, png: Path, height: int) -> None:
    binary = next(
        shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome") if shutil.which(b)
    )
    subprocess.run(
        [
            binary,
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            f"--window-size=1300,{height}",
            "--virtual-time-budget=20000",
            f"--screenshot={png}",
            page.resolve().as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    print(png)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--rows", type=int, default=9900)
    parser.add_argument("--cols", type=int, default=22)
    parser.add_argument("--permuted", action="store_true")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("TRIALSYNTH_HOME", str(out / "home"))
    manifest = write_demo_archive(out / "archive", plan=[TrialShape(args.rows, args.cols)])
    sessions = make_sessionmaker(make_engine(f"sqlite:///{out / 'catalogue.db'}"))
    plans = build_plans(load_manifest(manifest))
    context = RunContext(run_id="screenshots", out_dir=out / "output", cache_dir=out / "home", force=True)
    for plan in plans:
        outcome = run_trial(plan, sessions, context)
        print(plan.trial_id, outcome.status, outcome.ons_category, outcome.error or "")
    with sessions() as session:
        record = as_record(latest_attempts(session)[0])
    screenshot(Path(record["report_path"]), out / "report.png", 9000)
    dashboard = build_dashboard(sessions, out / "output", run_id="screenshots")
    screenshot(dashboard, out / "dashboard.png", 1400)
    if args.permuted:
        permuted_report(record, plans[0], out)


def permuted_report(record: dict, plan, out: Path) -> None:
    """The report of the released file with its arms shuffled, rendered from the same record."""
    from trialsynth.data.cleaning import clean_planned
    from trialsynth.data.loading import load_trial_data
    from trialsynth.evaluation.categories import CATEGORIES, categorise, failed_conditions
    from trialsynth.evaluation.metrics.trial_analysis import trial_analysis
    from trialsynth.reports.aggregates import secure_aggregates
    from trialsynth.reports.trial_report import render_report

    data, meta = clean_planned(load_trial_data(plan.data_path)[0], plan)
    synthetic, _ = clean_planned(load_trial_data(Path(record["output_path"]))[0], plan)
    synthetic[meta.treatment] = np.random.default_rng(1).permutation(synthetic[meta.treatment].to_numpy())
    effects, detail = trial_analysis(data, synthetic, meta)
    metrics = {**record["metrics"], **effects}
    skip = ((record["analysis"] or {}).get("category") or {}).get("not_applicable") or []
    category = categorise(metrics, not_applicable=skip)  # the permuted file's own category
    above = CATEGORIES[CATEGORIES.index(category) + 1]
    why = {
        "not_applicable": skip,
        "next_category": above,
        "next_category_fails": failed_conditions(metrics, above, skip),
    }
    permuted = {
        **record,
        "metrics": metrics,
        "ons_category": category,
        "analysis": {**detail, "category": why},
    }
    page = out / "report-permuted.html"
    page.write_text(render_report(permuted, secure_aggregates(data, synthetic, meta), "public.html"))
    screenshot(page, out / "report-permuted.png", 3000)


if __name__ == "__main__":
    main()
