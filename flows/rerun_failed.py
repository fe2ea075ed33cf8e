"""The operator's rerun: every trial of the archive whose latest attempt failed, and nothing else.

Attempts a dead process left ``running`` are failed first (their lease ran out), so they are
rerun too. Every attempt stays in the catalogue's history.
"""

from __future__ import annotations

from prefect import flow

from flows.regenerate_archive import regenerate_archive
from tasks.archive import failed_trials_task


@flow(name="rerun-failed")
def rerun_failed(registry: str, catalogue_url: str, out_dir: str) -> list[dict]:
    """Rerun the failed trials of the registry's archive; returns one summary per rerun trial."""
    trial_ids = failed_trials_task(registry, catalogue_url)
    if not trial_ids:
        return []
    return regenerate_archive(registry, catalogue_url, out_dir, trial_ids=trial_ids)
