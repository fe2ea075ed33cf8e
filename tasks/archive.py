"""Archive-level tasks: plan the run (the manifest is parsed once), clear what a dead run left, and
build the run's dashboard."""

from __future__ import annotations

from pathlib import Path

from prefect import task

from registry.plans import build_plans, read_plans
from registry.validation import check_registry
from trialsynth.catalogue.attempts import expire_stale
from trialsynth.catalogue.queries import failed_trials, run_attempts
from trialsynth.catalogue.session import sessions_for
from trialsynth.data.files import remove_stale_partials
from trialsynth.plan import TrialPlan
from trialsynth.reports.dashboard import build_dashboard


@task(name="plan-run", persist_result=False)
def plan_run_task(registry: str, trial_ids: list[str] | None = None) -> list[TrialPlan]:
    """Check the manifest, then plan the trials to process (``trial_ids`` or every trial), largest
    input first; a trial's own problems travel in its plan (it fails, recorded; the rest run).
    Plans hold paths, roles and settings: no data."""
    manifest, problems = check_registry(registry)
    return build_plans(manifest, trial_ids, problems)


@task(name="load-plans", persist_result=False)
def load_plans_task(plans_file: str) -> list[TrialPlan]:
    """The plans a caller wrote for this run (``registry.plans.write_plans``)."""
    return read_plans(plans_file)


@task(name="expire-stale-attempts", persist_result=False)
def expire_stale_attempts_task(catalogue_url: str) -> list[str]:
    """Fail the attempts a dead process left ``running`` (their lease ran out)."""
    return expire_stale(sessions_for(catalogue_url))


@task(name="remove-stale-partials", persist_result=False)
def remove_stale_partials_task(out_dir: str) -> list[str]:
    """Delete temporary files a killed run left in the output directory."""
    return [str(p) for p in remove_stale_partials(Path(out_dir))]


@task(name="failed-trials", persist_result=False)
def failed_trials_task(catalogue_url: str, archive: str) -> list[str]:
    """The archive's trials whose latest attempt failed."""
    with sessions_for(catalogue_url)() as session:
        return failed_trials(session, archive)


@task(name="build-dashboard", persist_result=False)
def build_dashboard_task(
    catalogue_url: str, out_dir: str, run_id: str, lifetime: float | None = None
) -> dict[str, str | None]:
    """Write the run's dashboard (and ``dashboard.html``) into ``out_dir``; returns its path and,
    per trial of the run, its report's path (paths only: no data)."""
    sessions = sessions_for(catalogue_url)
    page = build_dashboard(sessions, Path(out_dir), run_id=run_id, lifetime=lifetime)
    with sessions() as session:
        reports = {a.trial_id: a.report_path for a in run_attempts(session, run_id)}
    return {"dashboard": str(page), **{f"report:{trial}": path for trial, path in reports.items()}}
