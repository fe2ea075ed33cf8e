import json

import pytest

from trialsynth.cli import main


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
