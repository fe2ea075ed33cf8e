"""The ``trialsynth`` command line: run, rerun, catalogue, review, approve, reject, report,
compare, env, demo-archive, validate, clear, codebook.

Exit codes: 0 every trial succeeded, was unchanged or was skipped by policy; 3 a trial failed
(the others still completed and were recorded); 2 a bad command line or an invalid registry.
"""

from __future__ import annotations

import logging
import sys

from cli import archive, catalogue, compare, review, run
from cli.common import EXIT_USAGE, error
from cli.parser import build_parser
from trialsynth.errors import RegistryError

COMMANDS = {
    "run": run.cmd_run,
    "rerun": run.cmd_run,
    "catalogue": catalogue.cmd_catalogue,
    "report": catalogue.cmd_report,
    "review": review.cmd_review,
    "approve": review.cmd_decide,
    "reject": review.cmd_decide,
    "compare": compare.cmd_compare,
    "env": compare.cmd_env,
    "demo-archive": archive.cmd_demo_archive,
    "validate": archive.cmd_validate,
    "clear": archive.cmd_clear,
    "codebook": archive.cmd_codebook,
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
        error(exc)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
