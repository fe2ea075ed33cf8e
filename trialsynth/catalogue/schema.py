"""Catalogue schema migrations (alembic), applied automatically when a catalogue is opened.

``upgrade(engine)`` brings any catalogue to the latest revision: a new database gets the whole
schema; a catalogue made before migrations existed (tables present, no ``alembic_version``) is
stamped at the first revision, whose schema it has, and then upgraded. Several processes may
open one PostgreSQL catalogue at once: the upgrade runs under an advisory lock there.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text

MIGRATIONS = Path(__file__).parent / "migrations"
FIRST_REVISION = "0001"
_LOCK_KEY = 724_113_001  # PostgreSQL advisory lock id for schema upgrades


def _config(connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(_config(None)).get_current_head()
    if head is None:
        raise RuntimeError(f"no migration revisions found under {MIGRATIONS}")
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine) -> None:
    """Apply every pending migration (idempotent; safe to call on every start)."""
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        if MigrationContext.configure(connection).get_current_revision() == head_revision():
            return
        config = _config(connection)
        tables = set(inspect(connection).get_table_names())
        if "attempts" in tables and "alembic_version" not in tables:
            command.stamp(config, FIRST_REVISION)
        command.upgrade(config, "head")
