"""Every deployment definition parses and its entrypoint loads as a Prefect flow."""

import importlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from tests.conftest import write_archive
from trialsynth.catalogue import as_record, latest_attempts
from trialsynth.catalogue.session import sessions_for
from trialsynth.surrogate import TrialShape, make_trial

ROOT = Path(__file__).resolve().parents[2]
DEPLOYMENTS = ROOT / "deployments" / "prefect.yaml"
PREFECT = str(Path(sys.executable).parent / "prefect")


def test_every_deployment_entrypoint_loads():
    spec = yaml.safe_load(DEPLOYMENTS.read_text())
    assert spec["deployments"]
    for deployment in spec["deployments"]:
        path, _, name = deployment["entrypoint"].partition(":")
        module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
        flow = getattr(module, name)
        assert flow.name and callable(flow.fn)
        assert set(deployment["parameters"]) <= set(flow.parameters.properties)
        for schedule in deployment.get("schedules", []):
            assert len(schedule["cron"].split()) == 5


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def prefect_server(tmp_path_factory):
    """A real ``prefect server start`` on a free port, with its own PREFECT_HOME."""
    home = tmp_path_factory.mktemp("prefect-server")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        PREFECT_HOME=str(home),
        PREFECT_API_URL=f"http://127.0.0.1:{port}/api",
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        DO_NOT_TRACK="1",
        PREFECT_LOGGING_LEVEL="WARNING",
    )
    log = (home / "server.log").open("w")
    server = subprocess.Popen(
        [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{env['PREFECT_API_URL']}/health", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            time.sleep(0.5)
    else:
        os.killpg(server.pid, signal.SIGTERM)
        pytest.fail(f"prefect server did not start: {(home / 'server.log').read_text()[-2000:]}")
    try:
        yield env
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)
        log.close()


def _prefect(env, *args, timeout=180) -> str:
    done = subprocess.run(
        [PREFECT, *args], env=env, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
    )
    assert done.returncode == 0, f"prefect {' '.join(args)}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.mark.flow
def test_deployments_deploy_list_and_run_through_a_worker(prefect_server, tmp_path):
    """Against a real server: deploy every deployment, list them, run one through a worker."""
    env = {**prefect_server, "TRIALSYNTH_PROJECT_DIR": str(ROOT), "TRIALSYNTH_HOME": str(tmp_path / "home")}
    env["COLUMNS"] = "250"
    _prefect(env, "work-pool", "create", "trialsynth", "--type", "process")
    _prefect(env, "--no-prompt", "deploy", "--all", "--prefect-file", str(DEPLOYMENTS), timeout=300)
    listed = _prefect(env, "deployment", "ls")
    for name in ("nightly-regeneration", "operator-rerun", "one-trial"):
        assert name in listed, listed

    manifest = write_archive(tmp_path, {"mid": make_trial(TrialShape(400, 15), 3)})
    url = f"sqlite:///{tmp_path / 'catalogue.db'}"
    params = {
        "registry": str(manifest),
        "catalogue_url": url,
        "out_dir": str(tmp_path / "out"),
        "trial_id": "mid",
    }
    _prefect(env, "deployment", "run", "process-trial/one-trial", "--params", json.dumps(params))
    _prefect(env, "worker", "start", "--pool", "trialsynth", "--run-once", timeout=300)
    runs = _prefect(env, "flow-run", "ls")
    assert "COMPLETED" in runs, runs

    with sessions_for(url)() as session:
        (record,) = map(as_record, latest_attempts(session))
    assert record["trial_id"] == "mid" and record["method"] == "cart"
    assert record["status"] in {"succeeded", "failed"} and record["finished_at"]
