import json

import pytest

from cli.main import main


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "--workers", "0"], "--workers: must be at least 1, got 0"),
        (["rerun"], "rerun needs --failed or --trial ID"),
        (["run", "--bogus"], "unrecognized arguments: --bogus"),
        (["demo-archive", "d", "--trials", "0"], "--trials: must be at least 1"),
    ],
)
def test_bad_command_lines_exit_2(argv, message, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert message in capsys.readouterr().err


def test_missing_registry_exits_2(tmp_path, capsys):
    assert main(["run", "--registry", str(tmp_path / "nope.yaml")]) == 2
    assert "manifest: file not found" in capsys.readouterr().err


def test_empty_catalogue_is_an_empty_list(tmp_path, capsys):
    assert main(["catalogue", "--catalogue", f"sqlite:///{tmp_path / 'c.db'}", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_catalogue_url_from_environment(tmp_path, monkeypatch, capsys):
    url = f"sqlite:///{tmp_path / 'env.db'}"
    monkeypatch.setenv("TRIALSYNTH_CATALOGUE_URL", url)
    assert main(["catalogue", "--json"]) == 0
    assert (tmp_path / "env.db").exists()


def test_per_trial_limits_with_dask_are_refused_before_any_work(tmp_path, capsys):
    from tests.conftest import write_archive
    from trialsynth.data.surrogate import TrialShape, make_trial

    trials = {"alpha": make_trial(TrialShape(200, 15), 1)}
    registry = write_archive(tmp_path, trials, defaults={"trial_time_limit_s": 60})
    catalogue = f"sqlite:///{tmp_path / 'c.db'}"
    assert main(["run", "--registry", str(registry), "--catalogue", catalogue, "--dask"]) == 2
    assert "Dask worker processes cannot start children" in " ".join(capsys.readouterr().err.split())
