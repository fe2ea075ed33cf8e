"""The engine's side of the file contract with the comparator environment.

``run_job`` writes a job into a private temporary directory (mode 0700: real rows go there as
Parquet and are deleted with it when the job ends, whatever its outcome), starts
``<env>/bin/python -I worker.py DIR`` and waits for it under two hard limits a thread could not
enforce: a wall-clock time limit, and a memory limit on the worker's resident memory (read from
``/proc`` every half second; an address-space limit would stop torch, which maps far more than
it uses). Over either, the worker is killed and ``ComparatorError`` says which limit. The worker's
answer is ``result.json`` (plus the output files the job names); what it prints (synthcity's
progress, torch's warnings) goes to a log in the job directory and is deleted with it: a
failure's message is the worker's own answer or its exit code, never a library's text, which may
quote the data.

Why a subprocess and not a Prefect work pool whose worker runs that environment: the worker
process starts in about 10 s (importing synthcity and torch, measured on this machine), a cost
paid once per fit and once per draw, whereas a work pool needs a Prefect server and a worker
process kept running (serverless Prefect cannot run workers), and every comparator call would
become a flow run of its own.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from trialsynth.errors import TrialsynthError

POLL_S = 0.5
WORKER = Path(__file__).with_name("worker.py")


class ComparatorError(TrialsynthError):
    """The comparator environment is missing, or a job in it failed or ran over a limit."""


@dataclass(frozen=True)
class Limits:
    time_s: float = 3600.0
    memory_mb: int = 8192
    threads: int | None = None  # torch's threads (default: torch's own choice)


@dataclass
class JobResult:
    result: dict[str, Any]
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    blobs: dict[str, bytes] = field(default_factory=dict)
    peak_mb: float = 0.0


def run_job(
    env: Path,
    job: dict[str, Any],
    *,
    frames: dict[str, pd.DataFrame] | None = None,
    blobs: dict[str, bytes] | None = None,
    read_frames: tuple[str, ...] = (),
    read_blobs: tuple[str, ...] = (),
    limits: Limits = Limits(),
    python: Path | None = None,
) -> JobResult:
    """Run one job in the environment at ``env``: ``frames`` written as ``<name>.parquet`` and
    ``blobs`` as files before it starts; ``read_frames``/``read_blobs`` read back after it."""
    interpreter = python or env / "bin" / "python"
    if not interpreter.exists():
        raise ComparatorError(f"no comparator environment at {env}: run `trialsynth env create comparators`")
    where = Path(tempfile.mkdtemp(prefix="trialsynth-job-"))  # 0700: only this user reads it
    try:
        for name, frame in (frames or {}).items():
            frame.to_parquet(where / f"{name}.parquet", index=False)
        for name, data in (blobs or {}).items():
            (where / name).write_bytes(data)
        (where / "job.json").write_text(json.dumps({**job, "threads": limits.threads}))
        peak, code = _wait(interpreter, where, limits)
        answer = where / "result.json"
        if not answer.exists():
            task = job.get("task")
            raise ComparatorError(f"the comparator's {task} job ended without an answer (exit code {code})")
        result = json.loads(answer.read_text())
        if result.get("status") != "ok":
            raise ComparatorError(f"the comparator's {job.get('task')} job failed: {result.get('error')}")
        return JobResult(
            result,
            {name: pd.read_parquet(where / f"{name}.parquet") for name in read_frames},
            {name: (where / name).read_bytes() for name in read_blobs},
            peak,
        )
    finally:
        shutil.rmtree(where, ignore_errors=True)


def _wait(interpreter: Path, where: Path, limits: Limits) -> tuple[float, int | None]:
    """Start the worker and wait for it under the limits; returns its peak resident MB and exit
    code. Whatever ends the wait (a limit, an interrupt, a cancelled task), the worker is killed."""
    environment = dict(os.environ)
    if limits.threads:
        environment.update(OMP_NUM_THREADS=str(limits.threads), MKL_NUM_THREADS=str(limits.threads))
    with open(where / "worker.log", "w") as log:
        process = subprocess.Popen(
            [str(interpreter), "-I", "-u", str(WORKER), str(where)],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=where,
            env=environment,
            start_new_session=True,  # its own process group: a kill takes its children too
        )  # no preexec_fn: Python code between fork and exec can deadlock a threaded (JAX) parent
        started, peak = time.monotonic(), 0.0
        try:
            while process.poll() is None:
                peak = max(peak, _resident_mb(process.pid))
                over = None
                if time.monotonic() - started > limits.time_s:
                    over = f"time limit: ran longer than {limits.time_s:g} s"
                elif peak > limits.memory_mb:
                    over = f"memory limit: used {peak:.0f} MB, over {limits.memory_mb} MB"
                if over:
                    raise ComparatorError(f"the comparator's job was stopped ({over})")
                time.sleep(POLL_S)
        finally:
            if process.poll() is None:
                _kill(process)
    return round(peak, 1), process.returncode


def _kill(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()


def _resident_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (FileNotFoundError, ProcessLookupError, ValueError):
        pass
    return 0.0


def versions_in(env: Path) -> dict[str, str]:
    """The versions the worker reports from inside ``env`` (an import check of the environment)."""
    return run_job(env, {"task": "versions"}, limits=Limits(time_s=600)).result["versions"]
