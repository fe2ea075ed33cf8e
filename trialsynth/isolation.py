"""One trial in a child process, for hard limits a thread cannot enforce.

With ``defaults.trial_time_limit_s`` (or ``trial_memory_limit_mb``) in the manifest, each trial
runs in a fresh process (spawned, so nothing is inherited but the job). A trial that overruns
its time is killed; one whose process dies (the kernel's out-of-memory killer, a crash in native
code) is recorded as failed with that reason; a memory limit makes allocations beyond it raise
``MemoryError`` inside the trial, which records it. Every other trial carries on.
"""

from __future__ import annotations

import multiprocessing
import signal
from dataclasses import asdict

from registry.manifest import load_manifest
from trialsynth.catalogue.queries import fail_attempt_of
from trialsynth.catalogue.session import sessions_for
from trialsynth.pipeline import TrialJob, TrialOutcome, run_trial


def _child(job: TrialJob, catalogue_url: str, memory_limit_mb: int | None, conn) -> None:
    if memory_limit_mb:
        import resource

        limit = memory_limit_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    outcome = run_trial(job, sessions_for(catalogue_url))
    conn.send(asdict(outcome))
    conn.close()


def run_trial_isolated(
    job: TrialJob, catalogue_url: str, time_limit_s: float | None = None, memory_limit_mb: int | None = None
) -> TrialOutcome:
    """``run_trial`` in a child process, killed after ``time_limit_s``; never raises for the trial."""
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(job, catalogue_url, memory_limit_mb, send))
    process.start()
    send.close()
    process.join(time_limit_s)
    if process.is_alive():
        process.kill()
        process.join()
        reason = f"time limit: the trial ran longer than {time_limit_s:g} s and was stopped"
    elif process.exitcode == 0 and receive.poll():
        return TrialOutcome(**receive.recv())
    elif process.exitcode is not None and process.exitcode < 0:
        name = signal.Signals(-process.exitcode).name
        hint = " (the kernel's out-of-memory killer sends SIGKILL)" if name == "SIGKILL" else ""
        reason = f"the trial's process was killed by {name}{hint}"
    else:
        reason = f"the trial's process exited with code {process.exitcode} before recording an outcome"
    archive = load_manifest(job.registry).archive
    fail_attempt_of(sessions_for(catalogue_url), job, reason, archive)
    return TrialOutcome(trial_id=job.trial_id, status="failed", error=reason)
