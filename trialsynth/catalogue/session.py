"""Catalogue connection: chosen once at the edge from a URL, then injected."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import sessionmaker

from trialsynth.catalogue.schema import upgrade

CATALOGUE_ENV = "TRIALSYNTH_CATALOGUE_URL"


def default_catalogue_url(home: Path) -> str:
    return os.environ.get(CATALOGUE_ENV) or f"sqlite:///{(home / 'catalogue.db').resolve()}"


def make_engine(url: str) -> Engine:
    """An engine for ``url`` whose schema is at the latest migration (created when missing)."""
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 60})

        @event.listens_for(engine, "connect")
        def _wal(dbapi_connection, _record):  # concurrent trial writers: WAL + busy timeout
            dbapi_connection.execute("PRAGMA journal_mode=WAL")
    else:
        engine = create_engine(url, pool_pre_ping=True)
    upgrade(engine)
    return engine


def make_sessionmaker(engine: Engine) -> sessionmaker:
    return sessionmaker(engine, expire_on_commit=False)


_SESSIONMAKERS: dict[str, sessionmaker] = {}


def sessions_for(url: str) -> sessionmaker:
    """One engine (and connection pool) per catalogue URL per process."""
    if url not in _SESSIONMAKERS:
        _SESSIONMAKERS[url] = make_sessionmaker(make_engine(url))
    return _SESSIONMAKERS[url]
