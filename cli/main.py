"""The ``trialsynth`` command line: run, rerun, catalogue, demo-archive, validate, clear.

Exit codes: 0 every trial succeeded or was skipped by policy; 3 a trial failed (the others
still completed and were recorded); 2 a bad command line or an invalid registry.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import threading
import uuid
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from flows import environment
from trialsynth.defaults import ARCHIVE_SEED
from trialsynth.errors import RegistryError
from trialsynth.synthesisers import method_names

EXIT_OK, EXIT_USAGE, EXIT_FAILED = 0, 2, 3
log = logging.getLogger("trialsynth")
console = Console(stderr=True)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _date(text: str):
    from datetime import UTC, datetime

    try:
        return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {text!r}") from None


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--catalogue", help="catalogue URL (default: $TRIALSYNTH_CATALOGUE_URL or a SQLite file)"
    )


def _run_options(parser: argparse.ArgumentParser) -> None:
    _common(parser)
    parser.add_argument("--registry", help="archive manifest (default: the bundled demo archive)")
    parser.add_argument("--out", help="output directory for synthetic files")
    parser.add_argument(
        "--trial", action="append", dest="trials", metavar="ID", help="only this trial (repeatable)"
    )
    parser.add_argument(
        "--workers", type=_positive_int, default=2, help="trials processed at once (default 2)"
    )
    parser.add_argument(
        "--threads",
        action="store_true",
        help="run --workers trials in threads of this process instead of one process each",
    )
    parser.add_argument(
        "--dask",
        action="store_true",
        help="run trials on a local Dask cluster of --workers processes",
    )
    parser.add_argument(
        "--dask-address", metavar="ADDRESS", help="run trials on an existing Dask scheduler (tcp://host:8786)"
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="re-synthesise trials whose release identity already has a released file (otherwise "
        "reported unchanged); a forced differentially private release is charged to the ledger",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="show Prefect's and the engine's logs")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="trialsynth", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    _run_options(sub.add_parser("run", help="regenerate synthetic files for the archive"))
    rerun = sub.add_parser("rerun", help="rerun trials whose latest attempt failed")
    _run_options(rerun)
    rerun.add_argument("--failed", action="store_true", help="select trials whose latest attempt failed")
    cat = sub.add_parser("catalogue", help="print the catalogue (latest attempt per trial)")
    _common(cat)
    cat.add_argument("--trial", action="append", dest="trials", metavar="ID")
    cat.add_argument("--history", action="store_true", help="every attempt, not only the latest")
    cat.add_argument(
        "--comparison", metavar="ID", help="the attempts of one comparison (trialsynth compare) instead"
    )
    cat.add_argument("--json", action="store_true", help="print JSON")
    cat.add_argument("--archive", help="only this archive")
    methods = [name for name in method_names() if name != "auto"]
    cat.add_argument("--method", choices=methods, help="only this method")
    cat.add_argument("--category", help="only this ONS category (e.g. multivariate_detailed)")
    cat.add_argument("--status", choices=("succeeded", "failed", "skipped", "unchanged", "running"))
    cat.add_argument("--since", type=_date, metavar="YYYY-MM-DD", help="attempts started on or after")
    cat.add_argument("--until", type=_date, metavar="YYYY-MM-DD", help="attempts started before")
    view = cat.add_mutually_exclusive_group()
    view.add_argument("--audit", action="store_true", help="lineage of each synthetic file (JSON)")
    view.add_argument(
        "--public", action="store_true", help="publishable view: metrics as documented bands (JSON)"
    )
    demo = sub.add_parser("demo-archive", help="write a representative demo archive")
    demo.add_argument("directory")
    demo.add_argument("--trials", type=_positive_int, default=6)
    demo.add_argument("--seed", type=int, default=ARCHIVE_SEED)
    validate = sub.add_parser("validate", help="check a registry and its data, changing nothing")
    validate.add_argument("registry")
    clear = sub.add_parser(
        "clear", help="write a trial's cleared analytical outputs (metadata, models) as JSON for release"
    )
    clear.add_argument("registry")
    clear.add_argument("--trial", required=True, metavar="ID")
    clear.add_argument("--out", required=True, help="JSON file to write")
    codebook = sub.add_parser(
        "codebook", help="draft a trial's public domain (codebook YAML) from its data, for review"
    )
    codebook.add_argument("registry")
    codebook.add_argument("--trial", required=True, metavar="ID")
    codebook.add_argument("--out", required=True, help="YAML file to write")
    report = sub.add_parser("report", help="build the archive dashboard (HTML) from the catalogue")
    _common(report)
    report.add_argument("--out", help="directory to write it into (default: the output directory)")
    report.add_argument(
        "--run", metavar="RUN_ID", help="the run whose timeline it shows (default: the newest)"
    )
    report.add_argument(
        "--lifetime",
        type=float,
        metavar="EPSILON",
        help="per-trial epsilon lifetime to mark on the ledger chart",
    )
    review = sub.add_parser("review", help="list the files awaiting sign-off (or every decision)")
    _common(review)
    review.add_argument("--json", action="store_true", help="print JSON")
    review.add_argument(
        "--decisions", action="store_true", help="every approval and rejection so far (the audit view)"
    )
    for name, helptext in (
        ("approve", "release a staged file"),
        ("reject", "reject a staged or released file"),
    ):
        decide = sub.add_parser(name, help=helptext)
        _common(decide)
        decide.add_argument("trial", metavar="TRIAL")
        decide.add_argument("--by", required=True, metavar="NAME", help="who decides (recorded)")
        decide.add_argument("--reason", required=name == "reject", metavar="TEXT", help="why (recorded)")
        decide.add_argument("--archive", help="the trial's archive, when several hold that trial id")
        decide.add_argument("--json", action="store_true", help="print the trial's record as JSON")
        if name == "approve":
            decide.add_argument(
                "--release-dir",
                help="where approved files go, under their access tier "
                "(default: $TRIALSYNTH_RELEASE_DIR or the home's released/)",
            )
    env = sub.add_parser("env", help="the isolated environments of optional methods")
    env_sub = env.add_subparsers(dest="env_command", required=True)
    create = env_sub.add_parser("create", help="build an environment (once; it is cached)")
    create.add_argument("name", choices=("comparators",), help="comparators: synthcity and hyperimpute")
    create.add_argument("--rebuild", action="store_true", help="build it again even when it is ready")
    create.add_argument("--python", help="the Python 3.11 to build it with (default: this one)")
    env_status = env_sub.add_parser("status", help="whether an environment is built from today's pins")
    env_status.add_argument("name", choices=("comparators",))
    compare = sub.add_parser("compare", help="run every candidate method on one trial and compare them")
    compare.add_argument("registry")
    compare.add_argument("--trial", required=True, metavar="ID")
    _common(compare)
    compare.add_argument("--out", help="output directory (default: the home's output/)")
    compare.add_argument("--json", action="store_true", help="print JSON: one object per method")
    compare.add_argument("-v", "--verbose", action="store_true", help="log each step (and CART's tuning)")
    compare.add_argument(
        "--method",
        action="append",
        dest="methods",
        metavar="NAME",
        help="only this candidate (repeatable): cart, cart-default, cart-synthpop, mst, aim, gan, "
        "pategan, ctgan, ea",
    )
    compare.add_argument(
        "--cart-trials", type=_positive_int, default=8, help="CART tuning: optuna fits at most (default 8)"
    )
    compare.add_argument(
        "--cart-seconds", type=float, default=300.0, help="CART tuning: seconds at most (default 300)"
    )
    return parser


def _catalogue_url(args) -> str:
    from trialsynth.catalogue.session import default_catalogue_url

    return args.catalogue or default_catalogue_url(environment.home())


def cmd_validate(args) -> int:
    from registry.validation import validate_registry

    manifest = validate_registry(args.registry, read_data=True)
    print(f"{args.registry}: archive {manifest.archive!r}, {len(manifest.trials)} trials, valid")
    return EXIT_OK


def cmd_demo_archive(args) -> int:
    from registry.demo import write_demo_archive

    path = write_demo_archive(args.directory, n_trials=args.trials, seed=args.seed)
    print(path)
    return EXIT_OK


def cmd_clear(args) -> int:
    from registry.plans import build_plan
    from registry.validation import validate_registry
    from trialsynth.errors import TrialDataError
    from trialsynth.outputs.trial import clear_trial

    manifest = validate_registry(args.registry)
    plan = build_plan(manifest, manifest.trial(args.trial))
    try:
        released = clear_trial(plan)
    except TrialDataError as exc:
        console.print(f"[red]error:[/red] {exc}", markup=True, highlight=False)
        return EXIT_FAILED
    released.to_json(args.out)
    for line in released.log:
        print(f"  {line}")
    shape = f"{len(released.variables)} variables, {len(released.models)} models, {released.n_rows} rows"
    print(f"{args.out}: {shape}")
    return EXIT_OK


def cmd_codebook(args) -> int:
    from registry.codebook import draft_codebook, write_codebook
    from registry.plans import build_plan
    from registry.validation import validate_registry
    from trialsynth.data.loading import load_trial_data
    from trialsynth.errors import TrialDataError

    manifest = validate_registry(args.registry)
    plan = build_plan(manifest, manifest.trial(args.trial))
    if plan.data_path is None:
        console.print(f"[red]error:[/red] trial {args.trial!r} has no data file to draft from", markup=True)
        return EXIT_USAGE
    try:
        frame, _ = load_trial_data(plan.data_path, plan.trial_id)
        codebook = draft_codebook(frame, plan)
    except TrialDataError as exc:
        console.print(f"[red]error:[/red] {exc}", markup=True, highlight=False)
        return EXIT_FAILED
    path = write_codebook(Path(args.out), codebook)
    print(f"{path}: {len(codebook['columns'])} columns drafted from the data: review before publishing")
    print(f"then add to the trial's entry: codebook: {path}")
    return EXIT_OK


def cmd_report(args) -> int:
    from trialsynth.catalogue.session import sessions_for
    from trialsynth.reports.dashboard import build_dashboard

    out_dir = Path(args.out) if args.out else environment.default_out_dir()
    try:
        page = build_dashboard(
            sessions_for(_catalogue_url(args)), out_dir, run_id=args.run, lifetime=args.lifetime
        )
    except LookupError as exc:  # an unknown --run
        console.print(f"[red]error:[/red] {exc}", markup=True, highlight=False)
        return EXIT_USAGE
    print(page)
    return EXIT_OK


def cmd_catalogue(args) -> int:
    from trialsynth.catalogue.bands import public_record
    from trialsynth.catalogue.queries import comparison_attempts, select_attempts
    from trialsynth.catalogue.records import as_record, audit_record
    from trialsynth.catalogue.session import sessions_for

    with sessions_for(_catalogue_url(args))() as session:
        attempts = (
            comparison_attempts(session, args.comparison)
            if args.comparison
            else select_attempts(
                session,
                trial_ids=args.trials,
                archive=args.archive,
                method=args.method,
                category=args.category,
                status=args.status,
                since=args.since,
                until=args.until,
                every_attempt=args.history,
            )
        )
        if args.audit:
            records = [audit_record(a) for a in attempts if a.output_path or args.history]
        else:
            records = [as_record(a) for a in attempts]
    if args.public:
        records = [public_record(r) for r in records]
    if args.json or args.audit or args.public:
        print(json.dumps(records, indent=2, default=str))
    else:
        Console().print(_records_table(records))
    return EXIT_OK


REVIEW_RISKS = ("singling_out_risk", "linkability_risk", "inference_risk", "dcr_share", "replicated_uniques")


def cmd_review(args) -> int:
    from trialsynth.catalogue.session import sessions_for
    from trialsynth.release.signoff import pending, reviews

    sessions = sessions_for(_catalogue_url(args))
    if args.decisions:
        with sessions() as session:
            decisions = reviews(session)
        if args.json:
            print(json.dumps(decisions, indent=2))
            return EXIT_OK
        table = Table(title="sign-off decisions")
        for column in ("trial", "decision", "reviewer", "when", "reason", "released to"):
            table.add_column(column)
        for d in decisions:
            table.add_row(
                d["trial_id"],
                d["decision"],
                d["reviewer"],
                d["decided_at"][:19],
                d["reason"] or "",
                d["released_path"] or "",
            )
        Console(width=None if sys.stdout.isatty() else 200).print(table)
        return EXIT_OK
    waiting = pending(sessions)
    if args.json:
        print(json.dumps(waiting, indent=2, default=str))
        return EXIT_OK
    if not waiting:
        print("nothing awaits sign-off")
        return EXIT_OK
    table = Table(title="awaiting sign-off (risks: singling out / linkability / inference / dcr_share)")
    for column in ("trial", "method", "category", "tier", "risks", "repl. uniques", "report"):
        table.add_column(column, no_wrap=column in ("trial", "risks", "tier"))
    for r in waiting:
        metrics = r["metrics"] or {}
        risks = " / ".join(
            f"{metrics[k]:.2f}" if metrics.get(k) is not None else "-" for k in REVIEW_RISKS[:4]
        )
        uniques = metrics.get("replicated_uniques")
        table.add_row(
            r["trial_id"],
            r["method"] or "",
            r["ons_category"] or "",
            r["access_tier"] or "",
            risks,
            "-" if uniques is None else f"{uniques:g}",
            Path(r["report_path"] or r["output_path"] or "").name,
        )
    Console(width=None if sys.stdout.isatty() else 160).print(table)  # piped: no folding
    return EXIT_OK


def cmd_decide(args) -> int:
    import os

    from trialsynth.catalogue.session import sessions_for
    from trialsynth.errors import SignoffError
    from trialsynth.release.signoff import approve, reject

    sessions = sessions_for(_catalogue_url(args))
    try:
        if args.command == "approve":
            default = os.environ.get("TRIALSYNTH_RELEASE_DIR") or str(environment.home() / "released")
            record = approve(
                sessions,
                args.trial,
                args.by,
                Path(args.release_dir or default),
                archive=args.archive,
                reason=args.reason,
            )
        else:
            record = reject(sessions, args.trial, args.by, args.reason, archive=args.archive)
    except SignoffError as exc:
        console.print(f"[red]error:[/red] {exc}", markup=True, highlight=False)
        return EXIT_USAGE
    if args.json:
        print(json.dumps(record, indent=2, default=str))
    elif record["release"] == "approved":
        print(f"{args.trial}: approved by {record['reviewer']}, released to {record['released_path']}")
    else:
        print(f"{args.trial}: rejected by {record['reviewer']}: {record['review_reason']}")
    return EXIT_OK


def _records_table(records: list[dict]) -> Table:
    table = Table(title="trialsynth catalogue")
    for column in ("trial", "status", "method", "rows", "category", "duration_s", "error"):
        table.add_column(column)
    for r in records:
        table.add_row(
            r["trial_id"],
            r["status"],
            r["method"] or "",
            f"{r['n_rows'] or ''}",
            r["ons_category"] or "",
            f"{r['duration_s'] or ''}",
            (r["error"] or "")[:80],
        )
    return table


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

    url = _catalogue_url(args)
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
    try:
        return flow.with_options(task_runner=runner)(
            registry=registry,
            catalogue_url=url,
            out_dir=out_dir,
            trial_ids=args.trials,
            run_id=run_id,
            cache_dir=str(environment.home()),
            plans=plans,
            force=args.force,
        )
    finally:
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


def cmd_env(args) -> int:
    from trialsynth.comparators.environment import create, location, status

    if args.env_command == "status":
        current = status(location(environment.home()))
        if current.ready:
            versions = ", ".join(f"{k} {v}" for k, v in current.versions.items())
            print(f"ready: {current.path} ({versions})")
            return EXIT_OK
        print(current.reason)
        return EXIT_FAILED
    try:
        create(location(environment.home()), python=args.python, rebuild=args.rebuild, say=print)
    except RuntimeError as exc:
        console.print(f"[red]error:[/red] {exc}", markup=True, highlight=False)
        return EXIT_FAILED
    return EXIT_OK


def cmd_compare(args) -> int:
    from registry.plans import build_plans
    from registry.validation import check_registry
    from trialsynth.errors import TrialsynthError
    from trialsynth.run.compare import candidates, trial_rows

    url = _catalogue_url(args)
    manifest, problems = check_registry(Path(args.registry))
    if args.trial not in {t.id for t in manifest.trials}:
        raise RegistryError([f"no trial {args.trial!r} in {args.registry}"])
    (plan,) = build_plans(manifest, [args.trial], problems)
    if plan.problems:
        raise RegistryError([f"trial {args.trial!r}: {problem}" for problem in plan.problems])
    try:  # checked here, before Prefect starts, so a bad command line is refused at once
        n_rows = trial_rows(plan)
        chosen = candidates(plan, n_rows, args.methods)
    except TrialsynthError as exc:
        raise RegistryError([str(exc)]) from exc
    out_dir = Path(args.out) if args.out else environment.default_out_dir()
    environment.configure_prefect(environment.home(), log_level="INFO" if args.verbose else "WARNING")
    from flows.compare_trial import compare_trial
    from trialsynth.catalogue.session import sessions_for

    sessions_for(url)
    console.print(
        f"comparing {len(chosen)} methods on {args.trial} ({n_rows} rows): "
        + ", ".join(c.label for c in chosen)
    )
    result = compare_trial(
        registry=str(Path(args.registry).resolve()),
        trial_id=args.trial,
        catalogue_url=url,
        out_dir=str(out_dir.resolve()),
        methods=args.methods,
        cache_dir=str(environment.home()),
        cart_trials=args.cart_trials,
        cart_seconds=args.cart_seconds,
    )
    rows = result["rows"]
    if args.json:
        print(json.dumps(rows, indent=2, default=str))
    else:
        table = Table(title=f"methods compared on {args.trial}")
        shown = ("corr_msd", "pmse_ratio", "feature_density_mad", "effect_ci_overlap", "dcr_share")
        for column in ("method", "status", "category", *shown, "fit s", "total s"):
            table.add_column(column, no_wrap=True)
        for row in rows:
            metrics = row["metrics"]
            table.add_row(
                row["method"],
                row["status"],
                row["ons_category"] or "",
                *[_fmt(metrics.get(key)) for key in shown],
                _fmt(row["fit_s"]),
                _fmt(row["seconds"]),
            )
        Console(width=max(Console().width, 150)).print(table)
        for row in rows:
            if row["error"]:
                console.print(f"{row['method']}: {row['error']}", highlight=False)
    console.print(f"comparison {result['comparison_id']}: {result['files']['html']}")
    return EXIT_FAILED if all(r["status"] != "succeeded" for r in rows) else EXIT_OK


def _fmt(value) -> str:
    if value is None:
        return "-"
    return f"{value:.4g}" if isinstance(value, float) else str(value)


COMMANDS = {
    "run": cmd_run,
    "rerun": cmd_run,
    "catalogue": cmd_catalogue,
    "demo-archive": cmd_demo_archive,
    "validate": cmd_validate,
    "clear": cmd_clear,
    "codebook": cmd_codebook,
    "report": cmd_report,
    "review": cmd_review,
    "approve": cmd_decide,
    "reject": cmd_decide,
    "env": cmd_env,
    "compare": cmd_compare,
}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "rerun" and not args.failed and not args.trials:
        parser.error("rerun needs --failed or --trial ID")
    logging.basicConfig(
        level=logging.INFO if getattr(args, "verbose", False) else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return COMMANDS[args.command](args)
    except RegistryError as exc:
        console.print(f"[red]error:[/red] {exc}", markup=True, highlight=False)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
