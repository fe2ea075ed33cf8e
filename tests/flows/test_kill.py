"""kill -9 in the middle of a run: the next run completes, leaves no partial file and no
attempt ``running``."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import sqlalchemy as sa

from cli.main import main
from tests.conftest import write_archive
from trialsynth.data.surrogate import TrialShape, make_trial


def _running(url: str) -> list[str]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return [
                r[0]
                for r in connection.execute(sa.text("SELECT trial_id FROM attempts WHERE status = 'running'"))
            ]
    except sa.exc.OperationalError:
        return []  # the catalogue is not created yet
    finally:
        engine.dispose()


@pytest.mark.flow
def test_kill_9_mid_run_then_run_again(tmp_path, prefect_harness, capsys):
    trials = {"slow": make_trial(TrialShape(900, 15), 1), "quick": make_trial(TrialShape(400, 15), 2)}
    manifest = write_archive(tmp_path, trials, defaults={"small_threshold": 1000, "ea_generations": 100_000})
    url = f"sqlite:///{tmp_path / 'catalogue.db'}"
    out = tmp_path / "out"
    command = [sys.executable, "-m", "cli.main", "run", "--registry", str(manifest), "--catalogue", url]
    env = {**os.environ, "TRIALSYNTH_HOME": str(tmp_path / "killed-home")}
    env.pop("PREFECT_API_URL", None)  # the doomed run starts its own temporary Prefect server
    victim = subprocess.Popen(
        [*command, "--out", str(out), "--workers", "1"],
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 240
    while "slow" not in _running(url):
        assert victim.poll() is None, "the run ended before it could be killed"
        assert time.monotonic() < deadline, "no attempt started running in time"
        time.sleep(0.5)
    time.sleep(2)
    os.killpg(victim.pid, signal.SIGKILL)  # the run and its temporary server, as an OOM kill would
    victim.wait()
    assert _running(url) == ["slow"]

    manifest.write_text(manifest.read_text().replace("ea_generations: 100000", "ea_generations: 50"))
    assert main(["run", "--registry", str(manifest), "--catalogue", url, "--out", str(out)]) == 0
    capsys.readouterr()
    assert _running(url) == []
    main(["catalogue", "--catalogue", url, "--history", "--json"])
    history = json.loads(capsys.readouterr().out)
    slow = [h for h in history if h["trial_id"] == "slow"]
    assert [h["status"] for h in slow] == ["failed", "succeeded"]
    assert (
        slow[0]["error"].startswith("stale: the process running this attempt (")
        and "is gone" in slow[0]["error"]
    )
    assert not list(out.rglob("*.partial"))
    assert sorted(p.name for p in (out / "test").glob("*.csv")) == ["quick.csv", "slow.csv"]
    import plotly

    assert {p.name for p in (out / "test").iterdir()} - {"quick.csv", "slow.csv"} == {
        f"{trial}.{kind}"
        for trial in ("quick", "slow")
        for kind in ("report.html", "public.html", "card.md", "aggregates.json")
    } | {f"plotly-{plotly.__version__}.min.js"}  # one bundle the folder's pages share
