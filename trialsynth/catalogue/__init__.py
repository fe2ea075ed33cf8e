"""The SQL catalogue of attempts (SQLite by default, PostgreSQL by URL)."""

from trialsynth.catalogue.models import Attempt, Base
from trialsynth.catalogue.queries import as_record, finish_attempt, history, latest_attempts, start_attempt
from trialsynth.catalogue.session import CATALOGUE_ENV, default_catalogue_url, make_engine, make_sessionmaker

__all__ = [
    "CATALOGUE_ENV",
    "Attempt",
    "Base",
    "as_record",
    "default_catalogue_url",
    "finish_attempt",
    "history",
    "latest_attempts",
    "make_engine",
    "make_sessionmaker",
    "start_attempt",
]
