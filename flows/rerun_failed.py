"""The operator's rerun: every trial of the archive whose latest attempt failed, and nothing else.

Attempts a dead process left ``running`` are failed first (their lease ran out, or their process
is gone), so they are rerun too. Every attempt stays in the catalogue's history.
"""

from __future__ import annotations

from prefect import flow
from prefect.task_runners import ThreadPoolTaskRunner

from flows.runs import process_plans, run_context
from tasks.archive import expire_stale_attempts_task, failed_trials_task, load_plans_task, plan_run_task


@flow(name="rerun-failed", task_runner=ThreadPoolTaskRunner(max_workers=2))
def rerun_failed(
    registry: str,
    catalogue_url: str,
    out_dir: str,
    trial_ids: list[str] | None = None,
    run_id: str | None = None,
    cache_dir: str | None = None,
    plans_file: str | None = None,
    force: bool = False,
) -> list[dict]:
    """Rerun the failed trials of the registry's archive (only those among ``trial_ids`` when
    given, or among the plans in ``plans_file`` when the caller planned the run); returns one
    summary per rerun trial."""
    plans = load_plans_task(plans_file) if plans_file else plan_run_task(registry, trial_ids)
    if not plans:
        return []
    expire_stale_attempts_task(catalogue_url)
    failed = set(failed_trials_task(catalogue_url, plans[0].archive))
    chosen = [plan for plan in plans if plan.trial_id in failed]
    if not chosen:
        return []
    return process_plans(chosen, catalogue_url, run_context(out_dir, run_id, cache_dir, force))
