"""Schema migrations: a catalogue from any earlier revision is upgraded in place, rows kept."""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import command

from trialsynth.catalogue.models import Attempt
from trialsynth.catalogue.schema import _config, current_revision, head_revision
from trialsynth.catalogue.session import make_engine, make_sessionmaker


def test_a_first_revision_catalogue_is_upgraded_with_its_rows(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        command.upgrade(_config(connection), "0001")
        connection.execute(
            sa.text(
                "INSERT INTO attempts (run_id, archive, trial_id, status, started_at, code_version, seed) "
                "VALUES ('r', 'a', 't', 'succeeded', :now, 'v', 4000000000)"
            ),
            {"now": datetime.now(UTC)},
        )
    assert current_revision(engine) == "0001"
    upgraded = make_engine(url)
    assert current_revision(upgraded) == head_revision() != "0001"
    with make_sessionmaker(upgraded)() as session:
        (attempt,) = session.scalars(sa.select(Attempt)).all()
    assert attempt.trial_id == "t" and attempt.seed == 4_000_000_000 and attempt.owner is None


def test_a_catalogue_made_before_migrations_is_stamped_then_upgraded(tmp_path):
    url = f"sqlite:///{tmp_path / 'legacy.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        command.upgrade(_config(connection), "0001")
        connection.execute(sa.text("DROP TABLE alembic_version"))  # as create_all left it
    assert current_revision(make_engine(url)) == head_revision()
