"""``trialsynth review``, ``approve`` and ``reject``: exit codes and JSON fields."""

import hashlib
import json

from cli.main import main
from trialsynth.catalogue.attempts import finish_attempt, start_attempt
from trialsynth.catalogue.session import sessions_for


def _staged(tmp_path):
    url = f"sqlite:///{tmp_path / 'c.db'}"
    path = tmp_path / "out" / "a" / "t1.csv"
    path.parent.mkdir(parents=True)
    path.write_text("x,y\n1,2\n")
    sessions = sessions_for(url)
    attempt = start_attempt(sessions, run_id="r", archive="a", trial_id="t1", seed=1, code_version="v")
    finish_attempt(
        sessions, attempt, status="succeeded", method="cart", output_path=str(path), release="staged",
        access_tier="safeguarded", metrics={"dcr_share": 0.5},
        lineage={"output_sha256": hashlib.sha256(path.read_bytes()).hexdigest()},
    )  # fmt: skip
    return url


def test_review_lists_what_awaits_sign_off(tmp_path, capsys):
    url = _staged(tmp_path)
    assert main(["review", "--catalogue", url, "--json"]) == 0
    (waiting,) = json.loads(capsys.readouterr().out)
    assert waiting["trial_id"] == "t1" and waiting["release"] == "staged"
    assert waiting["access_tier"] == "safeguarded"
    assert main(["review", "--catalogue", url]) == 0
    assert "t1" in capsys.readouterr().out


def test_approve_then_nothing_is_staged(tmp_path, capsys):
    url = _staged(tmp_path)
    release = str(tmp_path / "released")
    argv = ["approve", "t1", "--by", "Ada", "--catalogue", url, "--release-dir", release, "--json"]
    assert main(argv) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["release"] == "approved" and record["reviewer"] == "Ada" and record["released_path"]
    assert main(argv) == 2  # nothing staged any more
    assert "nothing staged" in capsys.readouterr().err
    assert main(["review", "--catalogue", url, "--decisions", "--json"]) == 0
    (decision,) = json.loads(capsys.readouterr().out)
    assert decision["decision"] == "approved" and decision["reviewer"] == "Ada"


def test_reject_needs_a_reason_and_records_it(tmp_path, capsys):
    import pytest

    url = _staged(tmp_path)
    with pytest.raises(SystemExit) as info:
        main(["reject", "t1", "--by", "Bo", "--catalogue", url])
    assert info.value.code == 2
    assert main(["reject", "t1", "--by", "Bo", "--reason", "too close", "--catalogue", url, "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["release"] == "rejected" and record["review_reason"] == "too close"
    assert main(["reject", "nope", "--by", "Bo", "--reason", "x", "--catalogue", url]) == 2
