"""One trial in a child process, for hard limits a thread cannot enforce.

With a time or memory limit in the trial's plan (``defaults.trial_time_limit_s`` or
``trial_memory_limit_mb`` in the manifest), each trial runs in a fresh process (spawned, so
nothing is inherited but the plan). A trial that overruns
its time is killed; one whose process dies (the kernel's out-of-memory killer, a crash in native
code) is recorded as failed with that reason; a memory limit makes allocations beyond it raise
``MemoryError`` inside the trial, which records it. Every other trial carries on.
"""

from __future__ import annotations

import multiprocessing
import signal
from dataclasses import asdict

from trialsynth.catalogue.attempts import fail_attempt_of
from trialsynth.catalogue.session import sessions_for
from trialsynth.plan import RunContext, TrialPlan
from trialsynth.run.pipeline import TrialOutcome, run_trial
from trialsynth.versions import code_version


def _child(plan: TrialPlan, context: RunContext, catalogue_url: str, conn) -> None:
    if plan.limits.memory_mb:
        import resource

        limit = plan.limits.memory_mb * 1024 * 1024
        _, hard = resource.getrlimit(resource.RLIMIT_AS)  # soft only: a comparator worker lifts it
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    outcome = run_trial(plan, sessions_for(catalogue_url), context)
    conn.send(asdict(outcome))
    conn.close()


def run_trial_isolated(plan: TrialPlan, catalogue_url: str, context: RunContext) -> TrialOutcome:
    """``run_trial`` in a child process, killed after the plan's time limit; never raises for
    the trial."""
    time_limit_s = plan.limits.time_s
    spawn = multiprocessing.get_context("spawn")
    receive, send = spawn.Pipe(duplex=False)
    process = spawn.Process(target=_child, args=(plan, context, catalogue_url, send))
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
    fail_attempt_of(
        sessions_for(catalogue_url),
        run_id=context.run_id,
        archive=plan.archive,
        trial_id=plan.trial_id,
        reason=reason,
        code_version=code_version(),
    )
    return TrialOutcome(trial_id=plan.trial_id, status="failed", error=reason)


def run_planned(plan: TrialPlan, catalogue_url: str, context: RunContext) -> TrialOutcome:
    """One trial as its plan asks: in its own process when it has limits, else in this one."""
    if plan.limits.isolated:
        return run_trial_isolated(plan, catalogue_url, context)
    return run_trial(plan, sessions_for(catalogue_url), context)
