"""Every deployment definition parses and its entrypoint loads as a Prefect flow."""

import importlib
from pathlib import Path

import yaml

DEPLOYMENTS = Path(__file__).resolve().parents[2] / "deployments" / "prefect.yaml"


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
