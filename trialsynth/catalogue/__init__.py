"""The SQL catalogue of attempts (SQLite by default, PostgreSQL by URL)."""

from trialsynth.catalogue.attempts import finish_attempt, start_attempt
from trialsynth.catalogue.models import Attempt, Base
from trialsynth.catalogue.queries import history, latest_attempts
from trialsynth.catalogue.records import as_record
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
