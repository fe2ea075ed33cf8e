"""Atomic writes, and the clean-up of temporary files a killed writer leaves behind."""

import os
import time

import pandas as pd
import pytest

from trialsynth.data.files import remove_stale_partials, write_atomically


def test_a_failed_write_leaves_neither_the_file_nor_a_temporary(tmp_path, monkeypatch):
    target = tmp_path / "a" / "t.csv"

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_csv", broken)
    with pytest.raises(OSError, match="disk full"):
        write_atomically(pd.DataFrame({"x": [1]}), target)
    assert list(target.parent.iterdir()) == []


def test_stale_partials_are_removed_and_fresh_ones_kept(tmp_path):
    old = tmp_path / "demo" / ".t1.csv.abc.partial"
    fresh = tmp_path / "demo" / ".t2.csv.def.partial"
    released = tmp_path / "demo" / "t3.csv"
    old.parent.mkdir()
    for path in (old, fresh, released):
        path.write_text("x")
    an_hour_ago = time.time() - 3600
    os.utime(old, (an_hour_ago, an_hour_ago))
    os.utime(released, (an_hour_ago, an_hour_ago))
    assert remove_stale_partials(tmp_path) == [old]
    assert fresh.exists() and released.exists() and not old.exists()
    assert remove_stale_partials(tmp_path / "missing") == []


def test_a_dead_local_writers_partial_is_removed_at_once(tmp_path):
    import subprocess
    import sys

    from trialsynth.owner import file_tag

    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead_pid = int(child.stdout)
    host_tag = file_tag().rsplit("@", 1)[0]
    orphan = tmp_path / f".t.csv.{host_tag}@{dead_pid}.x1.partial"
    mine = tmp_path / f".t.csv.{file_tag()}.x2.partial"
    for path in (orphan, mine):
        path.write_text("x")
    assert remove_stale_partials(tmp_path) == [orphan]
    assert mine.exists()
