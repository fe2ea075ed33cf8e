"""Catalogue connection: chosen once at the edge from a URL, then injected."""

from __future__ import annotations

import json
import os
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import sessionmaker

from trialsynth.catalogue.schema import upgrade

CATALOGUE_ENV = "TRIALSYNTH_CATALOGUE_URL"


def default_catalogue_url(home: Path) -> str:
    return os.environ.get(CATALOGUE_ENV) or f"sqlite:///{(home / 'catalogue.db').resolve()}"


def json_default(value: Any) -> Any:
    """What the catalogue's JSON columns store for values ``json`` does not know: numpy scalars
    and arrays as plain numbers and lists, paths as text (a method's record may hold them)."""
    if isinstance(value, np.generic | np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


_SERIALISER = partial(json.dumps, default=json_default)


def make_engine(url: str) -> Engine:
    """An engine for ``url`` whose schema is at the latest migration (created when missing)."""
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 60}, json_serializer=_SERIALISER)

        @event.listens_for(engine, "connect")
        def _wal(dbapi_connection, _record):  # concurrent trial writers: WAL + busy timeout
            dbapi_connection.execute("PRAGMA journal_mode=WAL")
    else:
        engine = create_engine(url, pool_pre_ping=True, json_serializer=_SERIALISER)
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
