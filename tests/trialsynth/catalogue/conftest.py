"""The catalogue tests' PostgreSQL server: a throw-away schema per test module.

Uses ``TRIALSYNTH_TEST_POSTGRES_URL`` (default: the machine's server, database ``test``); a test
that asks for it is skipped, saying why, only when no server answers.
"""

import os
import uuid

import pytest
import sqlalchemy as sa

SERVER = os.environ.get("TRIALSYNTH_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="module")
def postgres_url():
    schema = f"ts_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(SERVER)
    try:
        with admin.begin() as connection:
            connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    except sa.exc.OperationalError as exc:
        pytest.skip(
            f"no PostgreSQL server at {SERVER} ({type(exc).__name__}); set TRIALSYNTH_TEST_POSTGRES_URL"
        )
    yield f"{SERVER}?options=-csearch_path%3D{schema}"
    with admin.begin() as connection:
        connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()
