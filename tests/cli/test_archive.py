"""``validate``, ``demo-archive``, ``clear`` and ``codebook``: exit codes and what they write."""

import json

import yaml

from cli.main import main
from tests.conftest import write_archive
from trialsynth.data.surrogate import TrialShape, make_trial


def test_demo_archive_writes_a_manifest_that_validates(tmp_path, capsys):
    assert main(["demo-archive", str(tmp_path / "demo"), "--trials", "2", "--seed", "3"]) == 0
    manifest = capsys.readouterr().out.strip()
    assert manifest.endswith("manifest.yaml")
    assert len(yaml.safe_load(open(manifest))["trials"]) == 2
    assert main(["validate", manifest]) == 0
    assert "2 trials, valid" in capsys.readouterr().out


def test_validate_lists_every_problem_and_exits_2(tmp_path, capsys):
    registry = write_archive(tmp_path, {"alpha": make_trial(TrialShape(300, 15), 1)}, extra={
        "alpha": {"outcomes": ["nowhere"]},
    })  # fmt: skip
    assert main(["validate", str(registry)]) == 2
    assert "trial 'alpha'" in capsys.readouterr().err


def test_clear_writes_cleared_outputs(tmp_path, capsys):
    registry = write_archive(tmp_path, {"alpha": make_trial(TrialShape(600, 15), 1)})
    out = tmp_path / "alpha.json"
    assert main(["clear", str(registry), "--trial", "alpha", "--out", str(out)]) == 0
    cleared = json.loads(out.read_text())
    assert cleared["n_rows"] == 600 and cleared["models"]
    assert f"{out}:" in capsys.readouterr().out
    assert main(["clear", str(registry), "--trial", "beta", "--out", str(out)]) == 2


def test_codebook_drafts_a_public_domain(tmp_path, capsys):
    registry = write_archive(tmp_path, {"alpha": make_trial(TrialShape(300, 15), 1)})
    out = tmp_path / "alpha.yaml"
    assert main(["codebook", str(registry), "--trial", "alpha", "--out", str(out)]) == 0
    drafted = yaml.safe_load(out.read_text())
    assert "post_test_1" in drafted["columns"]
    assert "review before publishing" in capsys.readouterr().out
