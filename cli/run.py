"""``trialsynth run`` and ``trialsynth rerun``: the archive flow with a progress bar that follows
the catalogue, then a one-screen summary."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, catalogue_url, console
from flows import environment


def _watch(url: str, run_id: str, total: int | None, done: threading.Event) -> None:
    from trialsynth.catalogue.queries import run_attempts
    from trialsynth.catalogue.session import sessions_for

    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        bar = progress.add_task("starting Prefect", total=total)
        finished_count = 0
        while not done.wait(1.0):
            with sessions_for(url)() as session:
                attempts = run_attempts(session, run_id)
            finished = [a for a in attempts if a.status != "running"]
            running = [a.trial_id for a in attempts if a.status == "running"]
            label = f"running {', '.join(running)}" if running else "waiting"
            finished_count = len(finished)
            progress.update(bar, completed=finished_count, description=label)
        progress.update(
            bar, total=total or finished_count, completed=total or finished_count, description="done"
        )


def cmd_run(args) -> int:
    from registry.bundled import bundled_registry
    from registry.plans import build_plans
    from registry.validation import check_registry

    url = catalogue_url(args)
    registry = Path(args.registry) if args.registry else bundled_registry(environment.home())
    manifest, problems = check_registry(registry)  # a trial's own problems fail that trial only
    limits = manifest.defaults.trial_time_limit_s or manifest.defaults.trial_memory_limit_mb
    if limits and (args.dask or args.dask_address):
        console.print(
            "error: the manifest sets per-trial limits (defaults.trial_time_limit_s / "
            "trial_memory_limit_mb), which run each trial in a child process; Dask worker "
            "processes cannot start children: run without --dask/--dask-address, or remove the limits"
        )
        return EXIT_USAGE
    out_dir = Path(args.out) if args.out else environment.default_out_dir()
    rerun = args.command == "rerun" and args.failed
    plans = build_plans(manifest, args.trials, problems)  # the run's only reading of the manifest
    total = None if rerun else len(plans)
    summaries = _run_flow(
        str(registry.resolve()), url, str(out_dir.resolve()), plans, total, args, rerun=rerun
    )
    if rerun and not summaries:
        console.print("no failed trials to rerun")
        return EXIT_OK
    _print_summary(summaries)
    return EXIT_FAILED if any(s["status"] == "failed" for s in summaries) else EXIT_OK


def _run_flow(
    registry: str, url: str, out_dir: str, plans: list, total: int | None, args, *, rerun: bool
) -> list[dict]:
    """Run the archive flow (or the operator's rerun flow) on the task runner the options ask for,
    with a progress bar that follows the catalogue."""
    environment.configure_prefect(environment.home(), log_level="INFO" if args.verbose else "WARNING")
    from flows.regenerate_archive import regenerate_archive
    from flows.rerun_failed import rerun_failed
    from registry.plans import write_plans
    from trialsynth.catalogue.session import sessions_for

    sessions_for(url)  # create the schema before workers race to do it
    run_id = str(uuid.uuid4())
    done = threading.Event()
    watcher = threading.Thread(target=_watch, args=(url, run_id, total, done), daemon=True)
    watcher.start()
    runner = environment.task_runner(
        args.workers, threads=args.threads, dask=args.dask, dask_address=args.dask_address
    )
    flow = rerun_failed if rerun else regenerate_archive
    plans_file = write_plans(plans, environment.home() / "runs" / f"{run_id}.plans.json")
    try:
        return flow.with_options(task_runner=runner)(
            registry=registry,
            catalogue_url=url,
            out_dir=out_dir,
            trial_ids=args.trials,
            run_id=run_id,
            cache_dir=str(environment.home()),
            plans_file=str(plans_file),
            force=args.force,
        )
    finally:
        plans_file.unlink(missing_ok=True)
        done.set()
        watcher.join()


def _counts(summaries: list[dict], key: str) -> str:
    counts: dict[str, int] = {}
    for s in summaries:
        label = s[key] or "-"
        counts[label] = counts.get(label, 0) + 1
    return ", ".join(f"{n} {label}" for label, n in sorted(counts.items()))


def _print_summary(summaries: list[dict]) -> None:
    """One screen: a row per trial (the whole table when short), then counts by status, method
    and category, the slowest trials, and every failure with its reason."""
    if len(summaries) <= 30:
        table = Table(title="run summary")
        for column in ("trial", "status", "method", "category", "seconds"):
            table.add_column(column, no_wrap=True)
        table.add_column("error")
        for s in sorted(summaries, key=lambda s: s["trial_id"]):
            table.add_row(
                s["trial_id"],
                s["status"],
                s["method"] or "",
                s["ons_category"] or "",
                f"{s['duration_s']:.1f}",
                (s["error"] or "")[:90],
            )
        console.print(table)
    console.print(f"status: {_counts(summaries, 'status')}")
    console.print(f"method: {_counts(summaries, 'method')}")
    console.print(f"category: {_counts(summaries, 'ons_category')}")
    slowest = sorted(summaries, key=lambda s: -s["duration_s"])[:3]
    console.print("slowest: " + ", ".join(f"{s['trial_id']} {s['duration_s']:.0f} s" for s in slowest))
    for s in summaries:
        if s["status"] == "failed":
            console.print(f"[red]failed[/red] {s['trial_id']}: {s['error']}", highlight=False)
    staged = sum(s["status"] == "succeeded" for s in summaries)
    if staged:
        console.print(
            f"{staged} new files staged, none released: `trialsynth review` lists them, "
            "`trialsynth approve TRIAL --by NAME` releases one"
        )
