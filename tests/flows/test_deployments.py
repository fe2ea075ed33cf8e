"""Every deployment definition parses and its entrypoint loads as a Prefect flow."""

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import write_archive
from trialsynth.catalogue import as_record, latest_attempts
from trialsynth.catalogue.session import sessions_for
from trialsynth.data.surrogate import TrialShape, make_trial

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
    for name in ("nightly-regeneration", "operator-rerun", "one-trial", "method-comparison"):
        assert name in listed, listed

    # a trial the policy skips: the worker runs the real flow, quickly
    manifest = write_archive(
        tmp_path, {"mid": make_trial(TrialShape(200, 15), 3)}, defaults={"small_policy": "none"}
    )
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
    assert record["trial_id"] == "mid" and record["method"] == "none"
    assert record["status"] == "skipped" and record["finished_at"]
