from datetime import datetime

import pytest

from trialsynth.catalogue import as_record, finish_attempt, history, latest_attempts, start_attempt
from trialsynth.catalogue.session import make_engine, make_sessionmaker
from trialsynth.evaluation.metrics import RECORD_METRIC_KEYS


def test_attempts_history_and_latest(tmp_path):
    sessions = make_sessionmaker(make_engine(f"sqlite:///{tmp_path / 'c.db'}"))
    common = dict(archive="a", seed=1, code_version="x")
    first = start_attempt(sessions, run_id="r1", trial_id="t1", **common)
    finish_attempt(sessions, first, status="failed", error="boom")
    second = start_attempt(sessions, run_id="r2", trial_id="t1", **common)
    finish_attempt(
        sessions, second, status="succeeded", metrics={k: 0.5 for k in RECORD_METRIC_KEYS}, method="cart"
    )
    other = start_attempt(sessions, run_id="r2", trial_id="t2", **common)
    with sessions() as session:
        latest = latest_attempts(session)
        assert [(a.trial_id, a.status) for a in latest] == [("t1", "succeeded"), ("t2", "running")]
        assert [a.id for a in history(session, ["t1"])] == [first, second]
        record = as_record(latest[0])
    assert record["run_id"] == "r2" and record["error"] is None
    assert set(record["metrics"]) == set(RECORD_METRIC_KEYS)
    assert record["finished_at"] >= record["started_at"]
    assert record["duration_s"] == pytest.approx(
        (
            datetime.fromisoformat(record["finished_at"]) - datetime.fromisoformat(record["started_at"])
        ).total_seconds(),
        abs=1e-3,
    )
    assert other != second


def test_a_field_the_catalogue_has_no_column_for_is_refused_never_dropped(tmp_path):
    sessions = make_sessionmaker(make_engine(f"sqlite:///{tmp_path / 'c.db'}"))
    attempt = start_attempt(sessions, run_id="r", archive="a", trial_id="t", seed=1, code_version="x")
    with pytest.raises(ValueError, match=r"\['ons_categroy'\].*not columns"):
        finish_attempt(sessions, attempt, status="succeeded", ons_categroy="plausible")
    with pytest.raises(ValueError, match="not columns"):
        start_attempt(sessions, run_id="r", archive="a", trial_id="t", seed=1, code_version="x", colour="red")


def test_stale_running_attempts_expire_and_live_ones_do_not(tmp_path):
    import time
    from datetime import UTC, datetime, timedelta

    from trialsynth.catalogue.attempts import expire_stale, heartbeat
    from trialsynth.catalogue.models import Attempt

    sessions = make_sessionmaker(make_engine(f"sqlite:///{tmp_path / 'c.db'}"))
    common = dict(archive="a", seed=1, code_version="x", run_id="r")
    dead = start_attempt(sessions, trial_id="dead", **common)
    alive = start_attempt(sessions, trial_id="alive", **common)
    with sessions.begin() as session:
        session.get(Attempt, dead).heartbeat_at = datetime.now(UTC) - timedelta(minutes=10)
    with sessions() as session:
        first_beat = session.get(Attempt, alive).heartbeat_at
    with heartbeat(sessions, alive, every=0.05):
        time.sleep(0.3)
    with sessions() as session:
        assert session.get(Attempt, alive).heartbeat_at > first_beat
    assert expire_stale(sessions, lease_seconds=60) == ["dead"]
    with sessions() as session:
        latest = {a.trial_id: a for a in latest_attempts(session)}
    assert latest["dead"].status == "failed" and latest["dead"].error.startswith("stale: the process")
    assert latest["alive"].status == "running"
    assert expire_stale(sessions, lease_seconds=60) == []


def test_failed_trials_are_those_of_one_archive_whose_latest_attempt_failed(tmp_path):
    from trialsynth.catalogue.queries import failed_trials

    sessions = make_sessionmaker(make_engine(f"sqlite:///{tmp_path / 'c.db'}"))

    def attempt(archive, trial, status):
        attempt_id = start_attempt(
            sessions, run_id="r", archive=archive, trial_id=trial, seed=1, code_version="x"
        )
        finish_attempt(sessions, attempt_id, status=status)

    attempt("a", "t1", "failed")
    attempt("a", "t1", "succeeded")  # fixed since
    attempt("a", "t2", "failed")
    attempt("a", "t3", "skipped")
    attempt("b", "t4", "failed")  # another archive in the same catalogue
    with sessions() as session:
        assert failed_trials(session, "a") == ["t2"]
        assert failed_trials(session, "b") == ["t4"]


def test_the_latest_attempt_of_a_trial_is_taken_within_the_archive_asked_for(tmp_path):
    """A trial id used by two archives: the newer attempt in archive b must not hide a's."""
    from trialsynth.catalogue.queries import latest_attempts, select_attempts

    sessions = make_sessionmaker(make_engine(f"sqlite:///{tmp_path / 'c.db'}"))
    for archive, status in (("a", "succeeded"), ("b", "failed")):
        attempt_id = start_attempt(
            sessions, run_id="r", archive=archive, trial_id="t1", seed=1, code_version="x"
        )
        finish_attempt(sessions, attempt_id, status=status, method="cart")
    with sessions() as session:
        (only_a,) = select_attempts(session, archive="a")
        assert (only_a.archive, only_a.status) == ("a", "succeeded")
        assert select_attempts(session, archive="a", status="failed") == []
        assert [(x.archive, x.status) for x in latest_attempts(session)] == [
            ("a", "succeeded"),
            ("b", "failed"),
        ]
        assert len(select_attempts(session, archive="b", every_attempt=True)) == 1


def test_an_attempt_whose_local_process_is_gone_expires_at_once(tmp_path):
    import subprocess
    import sys

    from trialsynth.catalogue.attempts import expire_stale
    from trialsynth.catalogue.models import Attempt
    from trialsynth.owner import this_process

    sessions = make_sessionmaker(make_engine(f"sqlite:///{tmp_path / 'c.db'}"))
    dead_pid = int(
        subprocess.run(
            [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
        ).stdout
    )
    host = this_process().rsplit(":", 1)[0]
    common = dict(run_id="r", archive="a", seed=1, code_version="x")
    killed = start_attempt(sessions, trial_id="killed", **common)
    alive = start_attempt(sessions, trial_id="alive", **common)
    elsewhere = start_attempt(sessions, trial_id="elsewhere", **common)
    with sessions.begin() as session:
        session.get(Attempt, killed).owner = f"{host}:{dead_pid}"
        session.get(Attempt, elsewhere).owner = f"another-host:{dead_pid}"
    assert expire_stale(sessions) == ["killed"]
    with sessions() as session:
        assert (
            session.get(Attempt, killed).error
            == f"stale: the process running this attempt ({host}:{dead_pid}) is gone"
        )
        assert (
            session.get(Attempt, alive).status == "running"
            and session.get(Attempt, elsewhere).status == "running"
        )
