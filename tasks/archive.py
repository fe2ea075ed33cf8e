"""Archive-level tasks: validate the registry, and clear what a dead run left, before trial work."""

from __future__ import annotations

from pathlib import Path

from prefect import task

from registry.manifest import load_manifest
from registry.validation import validate_registry
from trialsynth.catalogue.queries import expire_stale, failed_trials
from trialsynth.catalogue.session import sessions_for
from trialsynth.output import remove_stale_partials


@task(name="validate-registry", persist_result=False)
def validate_registry_task(registry: str, trial_ids: list[str] | None = None) -> list[str]:
    """Check the manifest and its data; return the ids of the trials to process, largest input
    first (see ``Manifest.largest_first``)."""
    manifest = validate_registry(registry)
    if not trial_ids:
        return manifest.largest_first([t.id for t in manifest.trials])
    for trial_id in trial_ids:
        manifest.trial(trial_id)  # raises RegistryError naming the unknown id
    return manifest.largest_first(list(dict.fromkeys(trial_ids)))


@task(name="expire-stale-attempts", persist_result=False)
def expire_stale_attempts_task(catalogue_url: str) -> list[str]:
    """Fail the attempts a dead process left ``running`` (their lease ran out)."""
    return expire_stale(sessions_for(catalogue_url))


@task(name="remove-stale-partials", persist_result=False)
def remove_stale_partials_task(out_dir: str) -> list[str]:
    """Delete temporary files a killed run left in the output directory."""
    return [str(p) for p in remove_stale_partials(Path(out_dir))]


@task(name="failed-trials", persist_result=False)
def failed_trials_task(registry: str, catalogue_url: str) -> list[str]:
    """The registry's trials whose latest attempt failed (stale ``running`` ones included)."""
    manifest = load_manifest(registry)
    known = {t.id for t in manifest.trials}
    return [t for t in failed_trials(sessions_for(catalogue_url), manifest.archive) if t in known]
