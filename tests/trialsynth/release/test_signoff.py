"""The sign-off: staged files wait for a person; approval releases exactly the file the run wrote,
rejection is recorded with its reason, and an unchanged release keeps its decision."""

import hashlib
import json
from pathlib import Path

import pytest

from cli.main import main
from trialsynth.catalogue.attempts import finish_attempt, start_attempt
from trialsynth.catalogue.queries import released_with_identity
from trialsynth.catalogue.session import sessions_for
from trialsynth.errors import SignoffError
from trialsynth.release.identity import Unchanged
from trialsynth.release.signoff import approve, pending, reject


def _staged(sessions, tmp_path, trial_id, identity="id-1", tier="accredited"):
    path = tmp_path / "out" / "demo" / f"{trial_id}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("a,b\n1,2\n")
    (tmp_path / "out" / "demo" / f"{trial_id}.report.html").write_text("<html></html>")
    (tmp_path / "out" / "demo" / f"{trial_id}.card.md").write_text("card")
    attempt = start_attempt(
        sessions, run_id="r1", archive="demo", trial_id=trial_id, seed=1, code_version="v"
    )
    finish_attempt(
        sessions,
        attempt,
        status="succeeded",
        output_path=str(path),
        release="staged",
        access_tier=tier,
        release_identity=identity,
        metrics={"singling_out_risk": 0.01},
        lineage={"output_sha256": hashlib.sha256(path.read_bytes()).hexdigest()},
    )
    return path


@pytest.fixture
def catalogue(tmp_path):
    url = f"sqlite:///{tmp_path / 'c.db'}"
    return url, sessions_for(url)


def test_approve_releases_the_staged_file_under_its_tier_and_records_who(catalogue, tmp_path):
    _, sessions = catalogue
    staged = _staged(sessions, tmp_path, "t1", tier="safeguarded")
    assert [r["trial_id"] for r in pending(sessions)] == ["t1"]
    record = approve(sessions, "t1", "Ada", tmp_path / "released")
    released = tmp_path / "released" / "safeguarded" / "demo" / "t1.csv"
    assert released.read_bytes() == staged.read_bytes()
    assert not (released.parent / "t1.report.html").exists()  # the secure report stays inside
    assert (released.parent / "t1.card.md").is_file()
    assert record["release"] == "approved" and record["reviewer"] == "Ada"
    assert record["released_path"] == str(released.resolve()) and record["reviewed_at"]
    assert pending(sessions) == []
    with pytest.raises(SignoffError, match="nothing staged"):
        approve(sessions, "t1", "Ada", tmp_path / "released")


def test_a_staged_file_changed_since_the_run_is_not_released(catalogue, tmp_path):
    _, sessions = catalogue
    staged = _staged(sessions, tmp_path, "t1")
    staged.write_text("a,b\n9,9\n")
    with pytest.raises(SignoffError, match="not the file the run wrote"):
        approve(sessions, "t1", "Ada", tmp_path / "released")
    assert not list((tmp_path / "released").rglob("*.csv"))
    assert [r["release"] for r in pending(sessions)] == ["staged"]  # back to staged, nothing recorded


def test_reject_needs_a_reason_and_withdraws_an_approved_file(catalogue, tmp_path):
    _, sessions = catalogue
    _staged(sessions, tmp_path, "t1")
    with pytest.raises(SignoffError, match="reason"):
        reject(sessions, "t1", "Bo", "  ")
    record = approve(sessions, "t1", "Ada", tmp_path / "released")
    released = tmp_path / "released" / "accredited" / "demo" / "t1.csv"
    assert released.is_file()
    record = reject(sessions, "t1", "Bo", "school sizes too revealing")
    assert record["release"] == "rejected" and record["review_reason"] == "school sizes too revealing"
    assert not released.exists() and record["released_path"] is None


def test_an_unchanged_release_keeps_its_decision_and_a_new_identity_waits(catalogue, tmp_path):
    _, sessions = catalogue
    _staged(sessions, tmp_path, "t1", identity="id-1")
    approve(sessions, "t1", "Ada", tmp_path / "released")
    with sessions() as session:
        source = released_with_identity(session, "demo", "t1", "id-1")
    again = Unchanged(source).record()
    assert again["release"] == "approved" and again["reviewer"] == "Ada"
    _staged(sessions, tmp_path, "t1", identity="id-2")  # regenerated: new data or code
    assert [r["release"] for r in pending(sessions)] == ["staged"]


def test_the_cli_reviews_approves_and_rejects(catalogue, tmp_path, capsys):
    url, sessions = catalogue
    _staged(sessions, tmp_path, "t1")
    _staged(sessions, tmp_path, "t2")
    assert main(["review", "--catalogue", url, "--json"]) == 0
    assert [r["trial_id"] for r in json.loads(capsys.readouterr().out)] == ["t1", "t2"]
    release_dir = tmp_path / "rel"
    assert main(["approve", "t1", "--by", "Ada", "--catalogue", url, "--release-dir", str(release_dir)]) == 0
    assert main(["reject", "t2", "--by", "Bo", "--reason", "too close", "--catalogue", url]) == 0
    assert main(["approve", "t2", "--by", "Ada", "--catalogue", url, "--release-dir", str(release_dir)]) == 2
    assert "nothing staged" in capsys.readouterr().err
    assert main(["catalogue", "--catalogue", url, "--json"]) == 0
    records = {r["trial_id"]: r for r in json.loads(capsys.readouterr().out)}
    assert records["t1"]["release"] == "approved" and records["t1"]["released_path"]
    assert records["t2"]["release"] == "rejected" and records["t2"]["review_reason"] == "too close"
    assert sorted(p.name for p in release_dir.rglob("*.csv")) == ["t1.csv"]
    assert main(["review", "--catalogue", url, "--decisions", "--json"]) == 0
    decisions = json.loads(capsys.readouterr().out)
    assert all(d["decided_at"].endswith("+00:00") for d in decisions)
    assert [(d["trial_id"], d["decision"], d["reviewer"]) for d in decisions] == [
        ("t1", "approved", "Ada"),
        ("t2", "rejected", "Bo"),
    ]
    with pytest.raises(SystemExit):
        main(["reject", "t1", "--by", "Bo"])  # --reason is required


def test_rejecting_after_a_forced_rerun_withdraws_the_file_approved_for_that_identity(catalogue, tmp_path):
    _, sessions = catalogue
    _staged(sessions, tmp_path, "t1", identity="id-1")
    released = Path(approve(sessions, "t1", "Ada", tmp_path / "released")["released_path"])
    _staged(sessions, tmp_path, "t1", identity="id-1")  # --force: same identity, staged again
    reject(sessions, "t1", "Bo", "withdrawn after review")
    assert not released.exists()


def test_two_sign_offs_cannot_act_on_one_file_at_once(catalogue, tmp_path):
    from trialsynth.release.signoff import APPROVING, _claim

    _, sessions = catalogue
    _staged(sessions, tmp_path, "t1")
    _claim(sessions, "t1", None, ("staged",), APPROVING)  # another reviewer's approval at work
    with pytest.raises(SignoffError, match="nothing staged or approved"):
        reject(sessions, "t1", "Bo", "too close")
