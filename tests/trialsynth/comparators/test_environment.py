"""Whether the comparator environment is ready: built, and from today's pins."""

import json

from trialsynth.comparators import environment
from trialsynth.comparators.environment import READY_FILE, location, requirements_sha256, status


def _fake_env(path, sha):
    (path / "bin").mkdir(parents=True)
    (path / "bin" / "python").write_text("")
    (path / READY_FILE).write_text(
        json.dumps({"requirements_sha256": sha, "versions": {"synthcity": "0.2.12"}})
    )


def test_no_environment_is_not_ready_and_says_how_to_build_it(tmp_path):
    current = status(tmp_path / "envs" / "comparators")
    assert not current.ready
    assert "trialsynth env create comparators" in current.reason


def test_an_environment_built_from_other_pins_is_stale(tmp_path):
    _fake_env(tmp_path, "0" * 64)
    current = status(tmp_path)
    assert not current.ready
    assert "other pins" in current.reason


def test_an_environment_stamped_with_todays_pins_is_ready(tmp_path):
    _fake_env(tmp_path, requirements_sha256())
    current = status(tmp_path)
    assert current.ready and current.versions == {"synthcity": "0.2.12"}


def test_an_install_that_broke_off_leaves_no_stamp(tmp_path):
    """A venv whose packages never finished installing is not taken for ready."""
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "python").write_text("")
    assert not status(tmp_path).ready


def test_the_environment_lives_in_the_home_unless_named(tmp_path, monkeypatch):
    monkeypatch.delenv(environment.ENV_VARIABLE, raising=False)
    monkeypatch.setenv("TRIALSYNTH_HOME", str(tmp_path))
    assert location() == tmp_path / "envs" / "comparators"
    monkeypatch.setenv(environment.ENV_VARIABLE, str(tmp_path / "elsewhere"))
    assert location() == tmp_path / "elsewhere"


def test_the_pins_hold_the_whole_environment():
    """Installed with --no-deps: every line pins one release, and the packages that matter are there."""
    lines = [
        line
        for line in environment.REQUIREMENTS.read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert all("==" in line for line in lines)
    names = {line.split("==")[0].lower() for line in lines}
    assert {"synthcity", "hyperimpute", "torch", "opacus", "numpy", "pyarrow", "pandas"} <= names
