"""Sign-off: ``trialsynth review`` (what awaits a decision, or every decision), ``approve`` and
``reject``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from cli.common import EXIT_OK, EXIT_USAGE, catalogue_url, error
from flows import environment

REVIEW_RISKS = ("singling_out_risk", "linkability_risk", "inference_risk", "dcr_share", "replicated_uniques")


def cmd_review(args) -> int:
    from trialsynth.catalogue.session import sessions_for
    from trialsynth.release.signoff import pending, reviews

    sessions = sessions_for(catalogue_url(args))
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

    sessions = sessions_for(catalogue_url(args))
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
        error(exc)
        return EXIT_USAGE
    if args.json:
        print(json.dumps(record, indent=2, default=str))
    elif record["release"] == "approved":
        print(f"{args.trial}: approved by {record['reviewer']}, released to {record['released_path']}")
    else:
        print(f"{args.trial}: rejected by {record['reviewer']}: {record['review_reason']}")
    return EXIT_OK
