"""The per-trial task: one coarse task per trial keeps orchestration overhead small."""

from __future__ import annotations

from prefect import task

from trialsynth.catalogue.session import sessions_for
from trialsynth.pipeline import TrialJob, run_trial


@task(name="process-trial", task_run_name="process-{trial_id}", persist_result=False)
def process_trial_task(registry: str, trial_id: str, out_dir: str, run_id: str, catalogue_url: str) -> dict:
    """Synthesise, evaluate, gate and catalogue one trial; returns a summary without data."""
    job = TrialJob(registry=registry, trial_id=trial_id, out_dir=out_dir, run_id=run_id)
    return run_trial(job, sessions_for(catalogue_url)).to_dict()
