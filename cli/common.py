"""What every command shares: exit codes, the console, the catalogue URL, number formats."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from rich.console import Console

from flows import environment

EXIT_OK, EXIT_USAGE, EXIT_FAILED = 0, 2, 3
console = Console(stderr=True)


def error(message: object) -> None:
    """An error line on standard error (the text printed as it is, never as markup)."""
    console.print(f"[red]error:[/red] {message}", markup=True, highlight=False)


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def date(text: str) -> datetime:
    try:
        return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {text!r}") from None


def catalogue_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--catalogue", help="catalogue URL (default: $TRIALSYNTH_CATALOGUE_URL or a SQLite file)"
    )


def catalogue_url(args: argparse.Namespace) -> str:
    from trialsynth.catalogue.session import default_catalogue_url

    return args.catalogue or default_catalogue_url(environment.home())


def fmt(value: object) -> str:
    if value is None:
        return "-"
    return f"{value:.4g}" if isinstance(value, float) else str(value)
