"""The command line's grammar: one parser, its sub-commands grouped as the modules that run them."""

from __future__ import annotations

import argparse

from cli.common import catalogue_option, date, positive_int
from trialsynth.defaults import ARCHIVE_SEED
from trialsynth.synthesisers import method_names


def _run_options(parser: argparse.ArgumentParser) -> None:
    catalogue_option(parser)
    parser.add_argument("--registry", help="archive manifest (default: the bundled demo archive)")
    parser.add_argument("--out", help="output directory for synthetic files")
    parser.add_argument(
        "--trial", action="append", dest="trials", metavar="ID", help="only this trial (repeatable)"
    )
    parser.add_argument(
        "--workers", type=positive_int, default=2, help="trials processed at once (default 2)"
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
    parser = argparse.ArgumentParser(
        prog="trialsynth",
        description="Regenerate, evaluate and sign off synthetic versions of an archive of trials.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for group in (_run_commands, _catalogue_commands, _archive_commands, _review_commands, _compare_commands):
        group(sub)
    return parser


def _run_commands(sub) -> None:
    _run_options(sub.add_parser("run", help="regenerate synthetic files for the archive"))
    rerun = sub.add_parser("rerun", help="rerun trials whose latest attempt failed")
    _run_options(rerun)
    rerun.add_argument("--failed", action="store_true", help="select trials whose latest attempt failed")


def _catalogue_commands(sub) -> None:
    cat = sub.add_parser("catalogue", help="print the catalogue (latest attempt per trial)")
    catalogue_option(cat)
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
    cat.add_argument("--since", type=date, metavar="YYYY-MM-DD", help="attempts started on or after")
    cat.add_argument("--until", type=date, metavar="YYYY-MM-DD", help="attempts started before")
    view = cat.add_mutually_exclusive_group()
    view.add_argument("--audit", action="store_true", help="lineage of each synthetic file (JSON)")
    view.add_argument(
        "--public", action="store_true", help="publishable view: metrics as documented bands (JSON)"
    )
    report = sub.add_parser("report", help="build the archive dashboard (HTML) from the catalogue")
    catalogue_option(report)
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


def _archive_commands(sub) -> None:
    demo = sub.add_parser("demo-archive", help="write a representative demo archive")
    demo.add_argument("directory")
    demo.add_argument("--trials", type=positive_int, default=6)
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


def _review_commands(sub) -> None:
    review = sub.add_parser("review", help="list the files awaiting sign-off (or every decision)")
    catalogue_option(review)
    review.add_argument("--json", action="store_true", help="print JSON")
    review.add_argument(
        "--decisions", action="store_true", help="every approval and rejection so far (the audit view)"
    )
    for name, helptext in (
        ("approve", "release a staged file"),
        ("reject", "reject a staged or released file"),
    ):
        decide = sub.add_parser(name, help=helptext)
        catalogue_option(decide)
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


def _compare_commands(sub) -> None:
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
    catalogue_option(compare)
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
        "--cart-trials", type=positive_int, default=8, help="CART tuning: optuna fits at most (default 8)"
    )
    compare.add_argument(
        "--cart-seconds", type=float, default=300.0, help="CART tuning: seconds at most (default 300)"
    )
