"""``trialsynth catalogue`` (every attempt, filtered, as a table or JSON) and ``trialsynth report``
(the archive dashboard)."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from rich.table import Table

from cli.common import EXIT_OK, EXIT_USAGE, catalogue_url, error
from flows import environment


def cmd_catalogue(args) -> int:
    from trialsynth.catalogue.bands import public_record
    from trialsynth.catalogue.queries import comparison_attempts, select_attempts
    from trialsynth.catalogue.records import as_record, audit_record
    from trialsynth.catalogue.session import sessions_for

    with sessions_for(catalogue_url(args))() as session:
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


def cmd_report(args) -> int:
    from trialsynth.catalogue.session import sessions_for
    from trialsynth.reports.dashboard import build_dashboard

    out_dir = Path(args.out) if args.out else environment.default_out_dir()
    try:
        page = build_dashboard(
            sessions_for(catalogue_url(args)), out_dir, run_id=args.run, lifetime=args.lifetime
        )
    except LookupError as exc:  # an unknown --run
        error(exc)
        return EXIT_USAGE
    print(page)
    return EXIT_OK
