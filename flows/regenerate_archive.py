"""Regenerate every trial of an archive: plan, then one task per trial, bounded concurrency.

A failing trial is recorded as failed by the engine and never stops the others. The run leaves
Prefect artifacts: a progress bar updated as trials finish, a table of trials (status, method,
category, seconds, error) under the key ``archive-regeneration``, a link to the run's dashboard
(``archive-dashboard``) and a markdown list of each trial's report (``trial-reports``).
"""

from __future__ import annotations

from prefect import flow
from prefect.task_runners import ThreadPoolTaskRunner

from flows.runs import process_plans, run_context
from tasks.archive import load_plans_task, plan_run_task


@flow(name="regenerate-archive", task_runner=ThreadPoolTaskRunner(max_workers=2))
def regenerate_archive(
    registry: str,
    catalogue_url: str,
    out_dir: str,
    trial_ids: list[str] | None = None,
    run_id: str | None = None,
    cache_dir: str | None = None,
    plans_file: str | None = None,
    force: bool = False,
) -> list[dict]:
    """Process the registry's trials (or ``trial_ids``); returns one summary per trial. A caller
    that has planned the run already (the CLI) passes the file its plans are in (``plans_file``,
    ``registry.plans.write_plans``) and the manifest is not read again."""
    plans = load_plans_task(plans_file) if plans_file else plan_run_task(registry, trial_ids)
    return process_plans(plans, catalogue_url, run_context(out_dir, run_id, cache_dir, force))
