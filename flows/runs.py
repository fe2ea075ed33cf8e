"""What every flow of a run shares: the run's context, and processing planned trials inside a
flow - stale attempts and partial files cleared first, one task per trial on the flow's runner,
then the run's artifacts (a progress bar, a table of trials, the dashboard and the reports)."""

from __future__ import annotations

import uuid
from pathlib import Path

from prefect import get_run_logger
from prefect.artifacts import (
    create_link_artifact,
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)
from prefect.futures import as_completed

from flows.environment import home
from tasks.archive import build_dashboard_task, expire_stale_attempts_task, remove_stale_partials_task
from tasks.trial import process_trial_task
from trialsynth.plan import RunContext, TrialPlan


def run_context(out_dir: str, run_id: str | None, cache_dir: str | None, force: bool = False) -> RunContext:
    """Where a run writes; ``force`` re-synthesises trials whose release identity already has a
    released file (otherwise reported ``unchanged``)."""
    return RunContext(
        run_id=run_id or str(uuid.uuid4()),
        out_dir=Path(out_dir).resolve(),
        cache_dir=Path(cache_dir).resolve() if cache_dir else home(),
        force=force,
    )


def process_plans(plans: list[TrialPlan], catalogue_url: str, context: RunContext) -> list[dict]:
    """Inside a flow: clear what a dead run left, then one task per plan on the flow's runner."""
    expire_stale_attempts_task(catalogue_url)
    remove_stale_partials_task(str(context.out_dir))
    futures = [process_trial_task.submit(plan, catalogue_url, context) for plan in plans]
    progress = create_progress_artifact(0.0, description=f"run {context.run_id}: trials finished")
    for done, _ in enumerate(as_completed(futures), start=1):
        update_progress_artifact(progress, 100.0 * done / max(len(futures), 1))
    summaries = [_summary(plan.trial_id, future) for plan, future in zip(plans, futures, strict=True)]
    create_table_artifact(
        [
            {
                "trial": s["trial_id"],
                "status": s["status"],
                "method": s["method"],
                "category": s["ons_category"],
                "seconds": s["duration_s"],
                "error": s["error"],
            }
            for s in summaries
        ],
        key="archive-regeneration",
        description=f"run {context.run_id}: one row per trial (ids, status and categories only; no data)",
    )
    _report_artifacts(plans, catalogue_url, context)
    return summaries


def _report_artifacts(plans: list[TrialPlan], catalogue_url: str, context: RunContext) -> None:
    """The run's dashboard and each trial's report, linked from the Prefect UI; a dashboard that
    cannot be built is logged, the run's results stand."""
    lifetime = plans[0].policy.epsilon_lifetime if plans else None
    try:
        paths = build_dashboard_task(catalogue_url, str(context.out_dir), context.run_id, lifetime)
    except Exception:  # noqa: BLE001 - the trials are recorded; the page can be rebuilt (trialsynth report)
        get_run_logger().exception("building the dashboard failed; rebuild it with `trialsynth report`")
        return
    dashboard = Path(paths.pop("dashboard"))
    create_link_artifact(
        dashboard.as_uri(),
        link_text="archive dashboard",
        key="archive-dashboard",
        description=f"run {context.run_id}: every trial, the run timeline, the epsilon ledger, failures",
    )
    lines = [
        f"# Trial reports, run {context.run_id}",
        "",
        f"Dashboard: [{dashboard}]({dashboard.as_uri()})",
        "",
    ]
    for name, path in sorted(paths.items()):
        trial = name.removeprefix("report:")
        lines.append(f"- {trial}: [{path}]({Path(path).as_uri()})" if path else f"- {trial}: no report")
    create_markdown_artifact("\n".join(lines), key="trial-reports", description="each trial's report")


def _summary(trial_id: str, future) -> dict:
    """The task's summary, or a failed one when the task itself crashed (e.g. catalogue down)."""
    future.wait()  # as_completed can leave a stale state behind
    state = future.state
    if state.is_completed():
        return future.result()
    return {
        "trial_id": trial_id,
        "status": "failed",
        "method": None,
        "ons_category": None,
        "error": f"task {state.name}: {state.message}",
        "duration_s": 0.0,
        "timings": {},
    }
