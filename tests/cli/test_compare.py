"""``trialsynth compare`` and ``trialsynth env``: what is refused before any work, and the status
of an environment that is not built."""

from cli.main import main
from tests.conftest import write_archive
from trialsynth.data.surrogate import TrialShape, make_trial


def test_compare_refuses_an_unknown_trial_or_candidate_with_exit_2(tmp_path, capsys):
    registry = str(write_archive(tmp_path, {"alpha": make_trial(TrialShape(300, 15), 1)}))
    url = f"sqlite:///{tmp_path / 'c.db'}"
    assert main(["compare", registry, "--trial", "beta", "--catalogue", url]) == 2
    assert "no trial 'beta'" in capsys.readouterr().err
    assert main(["compare", registry, "--trial", "alpha", "--method", "magic", "--catalogue", url]) == 2
    assert "no candidate named ['magic']" in capsys.readouterr().err


def test_env_status_of_an_environment_not_built_exits_3(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TRIALSYNTH_COMPARATORS_ENV", str(tmp_path / "none"))
    assert main(["env", "status", "comparators"]) == 3
    assert "trialsynth env create comparators" in capsys.readouterr().out
