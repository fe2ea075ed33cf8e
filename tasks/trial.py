"""The per-trial task: one coarse task per trial keeps orchestration overhead small."""

from __future__ import annotations

from prefect import task
from sqlalchemy.exc import InterfaceError, OperationalError

from trialsynth.plan import RunContext, TrialPlan
from trialsynth.run.isolation import run_planned

TRANSIENT = (OperationalError, InterfaceError, OSError)


def is_transient(task, task_run, state) -> bool:
    """Retry only infrastructure failures (catalogue connection, I/O). The engine records data
    errors as failed attempts itself, and a retry derives the same streams, so a DP release is
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
    task_run_name="process-{plan.trial_id}",
    persist_result=False,
    retries=2,
    retry_delay_seconds=10,
    retry_condition_fn=is_transient,
)
def process_trial_task(plan: TrialPlan, catalogue_url: str, context: RunContext) -> dict:
    """Synthesise, evaluate, gate and catalogue one trial; returns a summary without data."""
    return run_planned(plan, catalogue_url, context).to_dict()
