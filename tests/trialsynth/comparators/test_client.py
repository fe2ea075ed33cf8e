"""The file contract with the comparator environment: limits, failures and clean-up, checked with
stand-in interpreters (the real environment's tests are marked ``comparators``)."""

import os
import stat
import sys
import tempfile
from pathlib import Path

import pandas as pd
import pytest

from trialsynth.comparators.client import ComparatorError, Limits, run_job


@pytest.fixture
def private_tmp(tmp_path, monkeypatch):
    """Job directories go under ``tmp_path`` so a test can see that none is left behind."""
    jobs = tmp_path / "jobs"
    jobs.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(jobs))
    return jobs


def _interpreter(tmp_path: Path, body: str) -> Path:
    """A stand-in for the environment's Python: runs ``body`` with the job directory as its last argument."""
    script = tmp_path / "fake-python"
    script.write_text(
        f"#!{sys.executable}\nimport sys, time, json, pathlib\nwhere = pathlib.Path(sys.argv[-1])\n{body}\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


FRAME = pd.DataFrame({"a": [1.0, 2.0, None], "b": [0, 1, 1]})


def test_the_job_directory_is_private_and_removed_when_the_job_ends(tmp_path, private_tmp):
    python = _interpreter(
        tmp_path,
        "import os, stat\n"
        "mode = stat.S_IMODE(os.stat(where).st_mode)\n"
        "import pandas\n"
        "rows = len(pandas.read_parquet(where / 'train.parquet'))\n"
        "(where / 'result.json').write_text(json.dumps({'status': 'ok', 'mode': mode, 'rows': rows}))",
    )
    done = run_job(tmp_path, {"task": "fit"}, frames={"train": FRAME}, python=python)
    assert done.result["mode"] == 0o700  # only this user can read the real rows written there
    assert done.result["rows"] == 3
    assert list(private_tmp.iterdir()) == []


def test_a_job_over_its_time_limit_is_killed_and_says_so(tmp_path, private_tmp):
    python = _interpreter(tmp_path, "time.sleep(60)")
    with pytest.raises(ComparatorError, match="time limit: ran longer than 1 s"):
        run_job(tmp_path, {"task": "fit"}, frames={"train": FRAME}, limits=Limits(time_s=1), python=python)
    assert list(private_tmp.iterdir()) == []  # the real rows are deleted on a kill too


def test_a_job_over_its_memory_limit_is_killed_and_says_so(tmp_path, private_tmp):
    python = _interpreter(tmp_path, "block = bytearray(400 * 1024 * 1024)\ntime.sleep(60)")
    with pytest.raises(ComparatorError, match="memory limit: used .* MB, over 150 MB"):
        run_job(tmp_path, {"task": "fit"}, limits=Limits(time_s=30, memory_mb=150), python=python)
    assert list(private_tmp.iterdir()) == []


def test_a_worker_that_dies_without_an_answer_is_an_error_with_its_exit_code(tmp_path, private_tmp):
    """What it printed may quote the data (a library's message): it is not passed on."""
    python = _interpreter(tmp_path, "print('row 7: 987654.25', flush=True)\nsys.exit(3)")
    with pytest.raises(ComparatorError, match=r"ended without an answer \(exit code 3\)") as info:
        run_job(tmp_path, {"task": "fit"}, python=python)
    assert "987654" not in str(info.value)
    assert list(private_tmp.iterdir()) == []


def test_an_interrupted_wait_kills_the_worker(tmp_path, private_tmp, monkeypatch):
    """A cancelled task (here: an interrupt while waiting) leaves no worker holding real rows."""
    from trialsynth.comparators import client

    python = _interpreter(
        tmp_path, "(where / 'pid').write_text(str(__import__('os').getpid()))\ntime.sleep(60)"
    )
    calls = []

    def interrupted(seconds):
        calls.append(seconds)
        if len(calls) > 4:
            raise KeyboardInterrupt

    monkeypatch.setattr(client.time, "sleep", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_job(tmp_path, {"task": "fit"}, python=python)
    assert list(private_tmp.iterdir()) == []
    import subprocess

    alive = subprocess.run(["pgrep", "-f", str(python)], capture_output=True, text=True).stdout.strip()
    assert alive == ""


def test_the_workers_own_error_is_reported(tmp_path, private_tmp):
    python = _interpreter(
        tmp_path,
        "(where / 'result.json').write_text(json.dumps({'status': 'error', 'error': 'ValueError: bad'}))",
    )
    with pytest.raises(ComparatorError, match="fit job failed: ValueError: bad"):
        run_job(tmp_path, {"task": "fit"}, python=python)


def test_the_real_worker_without_synthcity_answers_with_the_import_error(tmp_path, private_tmp):
    """The worker itself, run by this environment's Python (which has no synthcity): the
    contract holds - an answer in result.json naming the failure, not a traceback on a pipe."""
    with pytest.raises(ComparatorError, match="versions job failed: ModuleNotFoundError"):
        run_job(tmp_path, {"task": "versions"}, python=Path(sys.executable))


def test_a_missing_environment_names_the_command_that_builds_it(tmp_path, private_tmp):
    with pytest.raises(ComparatorError, match="trialsynth env create comparators"):
        run_job(tmp_path / "nowhere", {"task": "versions"})
    assert os.listdir(private_tmp) == []
