"""Prefect for the flow tests: one test harness (a temporary API server) for the session, and a
real ``prefect server`` for the deployment test, started while collection ends so that it is up
by the time that test runs."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

DEPLOY_TEST = "test_deployments_deploy_list_and_run_through_a_worker"
PREFECT = str(Path(sys.executable).parent / "prefect")
_server: dict = {}


@pytest.fixture(scope="session")
def prefect_harness(tmp_path_factory):
    from flows.environment import configure_prefect

    configure_prefect(tmp_path_factory.mktemp("prefect-home"))
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


def _start_server(home: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        PREFECT_HOME=str(home),
        PREFECT_API_URL=f"http://127.0.0.1:{port}/api",
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        DO_NOT_TRACK="1",
        PREFECT_LOGGING_LEVEL="WARNING",
    )
    log = (home / "server.log").open("w")
    command = [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    _server.update(env=env, process=process, log=log, home=home)


def pytest_collection_modifyitems(session, config, items):
    """Start the server now and run its test last, so that it starts beside the other tests."""
    chosen = [item for item in items if item.name == DEPLOY_TEST]
    if chosen:
        import tempfile

        _start_server(Path(tempfile.mkdtemp(prefix="prefect-server-")))
        items[:] = [item for item in items if item.name != DEPLOY_TEST] + chosen


def pytest_sessionfinish(session, exitstatus):
    process = _server.get("process")
    if process is not None and process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(30)
        _server["log"].close()


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory):
    """A real ``prefect server start`` on a free port with its own PREFECT_HOME; its environment."""
    if not _server:
        _start_server(tmp_path_factory.mktemp("prefect-server"))
    env, home = _server["env"], _server["home"]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{env['PREFECT_API_URL']}/health", timeout=2) as response:
                if response.status == 200:
                    return env
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"prefect server did not start: {(home / 'server.log').read_text()[-2000:]}")
