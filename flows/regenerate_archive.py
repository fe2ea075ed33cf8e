"""Regenerate every trial of an archive: validate, then one task per trial, bounded concurrency.

A failing trial is recorded as failed by the engine and never stops the others.
"""

from __future__ import annotations

import uuid

from prefect import flow
from prefect.futures import wait
from prefect.task_runners import ThreadPoolTaskRunner

from tasks.archive import expire_stale_attempts_task, remove_stale_partials_task, validate_registry_task
from tasks.trial import process_trial_task


@flow(name="regenerate-archive", task_runner=ThreadPoolTaskRunner(max_workers=2))
def regenerate_archive(
    registry: str,
    catalogue_url: str,
    out_dir: str,
    trial_ids: list[str] | None = None,
    run_id: str | None = None,
) -> list[dict]:
    """Process the registry's trials (or ``trial_ids``); returns one summary per trial."""
    run_id = run_id or str(uuid.uuid4())
    selected = validate_registry_task(registry, trial_ids)
    expire_stale_attempts_task(catalogue_url)
    remove_stale_partials_task(out_dir)
    futures = [
        process_trial_task.submit(registry, trial_id, out_dir, run_id, catalogue_url) for trial_id in selected
    ]
    wait(futures)
    return [_summary(trial_id, future) for trial_id, future in zip(selected, futures, strict=True)]


def _summary(trial_id: str, future) -> dict:
    """The task's summary, or a failed one when the task itself crashed (e.g. catalogue down)."""
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
