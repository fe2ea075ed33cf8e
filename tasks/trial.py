"""The per-trial task: one coarse task per trial keeps orchestration overhead small."""

from __future__ import annotations

from prefect import task
from sqlalchemy.exc import InterfaceError, OperationalError

from registry.manifest import load_manifest
from trialsynth.catalogue.session import sessions_for
from trialsynth.isolation import run_trial_isolated
from trialsynth.pipeline import TrialJob, run_trial

TRANSIENT = (OperationalError, InterfaceError, OSError)


def is_transient(task, task_run, state) -> bool:
    """Retry only infrastructure failures (catalogue connection, I/O). The engine records data
    errors as failed attempts itself, and a retry re-derives the same seed, so a DP release is
    re-created with the same noise and charged once."""
    try:
        state.result()
    except TRANSIENT:
        return True
    except Exception:  # noqa: BLE001 - anything else is not worth retrying
        return False
    return False


@task(
    name="process-trial",
    task_run_name="process-{trial_id}",
    persist_result=False,
    retries=2,
    retry_delay_seconds=10,
    retry_condition_fn=is_transient,
)
def process_trial_task(registry: str, trial_id: str, out_dir: str, run_id: str, catalogue_url: str) -> dict:
    """Synthesise, evaluate, gate and catalogue one trial; returns a summary without data."""
    job = TrialJob(registry=registry, trial_id=trial_id, out_dir=out_dir, run_id=run_id)
    defaults = load_manifest(registry).defaults
    if defaults.trial_time_limit_s or defaults.trial_memory_limit_mb:
        limits = {
            "time_limit_s": defaults.trial_time_limit_s,
            "memory_limit_mb": defaults.trial_memory_limit_mb,
        }
        return run_trial_isolated(job, catalogue_url, **limits).to_dict()
    return run_trial(job, sessions_for(catalogue_url)).to_dict()
