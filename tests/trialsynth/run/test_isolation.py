"""Hard per-trial limits: an overrunning trial is stopped and recorded; the others complete."""

import uuid
from dataclasses import replace

from tests.conftest import NO_RISK_LIMITS, context_in, plan_of, write_archive
from trialsynth.catalogue import as_record, latest_attempts
from trialsynth.catalogue.session import sessions_for
from trialsynth.data.surrogate import TrialShape, make_trial
from trialsynth.plan import Limits
from trialsynth.run.isolation import run_trial_isolated


def test_a_trial_over_its_time_limit_is_stopped_and_recorded(tmp_path):
    trials = {"endless": make_trial(TrialShape(300, 15), 1), "quick": make_trial(TrialShape(300, 15), 2)}
    extra = {"endless": {"method": "ea"}, "quick": {"method": "cart"}}
    manifest = write_archive(
        # lifted: CART on a few hundred rows is over the default risk limits; this test needs
        # the file released to check something else
        tmp_path,
        trials,
        defaults={"ea_generations": 10_000_000},
        extra=extra,
        risk_limits=NO_RISK_LIMITS,
    )
    url = f"sqlite:///{tmp_path / 'c.db'}"
    run_id = str(uuid.uuid4())

    def run(trial_id, seconds):
        plan = replace(plan_of(manifest, trial_id), limits=Limits(time_s=seconds))
        return run_trial_isolated(plan, url, context_in(tmp_path, run_id))

    stopped, finished = run("endless", 12), run("quick", 120)
    assert stopped.status == "failed"
    assert stopped.error == "time limit: the trial ran longer than 12 s and was stopped"
    assert finished.status == "succeeded", finished.error
    with sessions_for(url)() as session:
        records = {r["trial_id"]: r for r in map(as_record, latest_attempts(session))}
    assert records["endless"]["status"] == "failed" and records["endless"]["error"] == stopped.error
    assert records["endless"]["archive"] == "test"
    assert records["quick"]["status"] == "succeeded"


def test_a_trial_whose_process_is_killed_is_recorded_with_the_signal(tmp_path):
    """What the kernel's out-of-memory killer does: SIGKILL the trial's process mid-run."""
    import multiprocessing
    import os
    import signal
    import threading
    import time

    trials = {"victim": make_trial(TrialShape(300, 15), 1)}
    manifest = write_archive(
        tmp_path, trials, defaults={"ea_generations": 10_000_000}, extra={"victim": {"method": "ea"}}
    )
    url = f"sqlite:///{tmp_path / 'c.db'}"
    plan = replace(plan_of(manifest, "victim"), limits=Limits(time_s=300))
    sessions_for(url)  # the schema exists before parent and child both open it
    outcome = {}
    runner = threading.Thread(
        target=lambda: outcome.update(o=run_trial_isolated(plan, url, context_in(tmp_path)))
    )
    runner.start()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # wait until the child has opened its attempt
        with sessions_for(url)() as session:
            if [r for r in map(as_record, latest_attempts(session)) if r["status"] == "running"]:
                break
        time.sleep(0.5)
    (child,) = multiprocessing.active_children()
    os.kill(child.pid, signal.SIGKILL)
    runner.join(60)
    expected = "the trial's process was killed by SIGKILL (the kernel's out-of-memory killer sends SIGKILL)"
    assert outcome["o"].status == "failed" and outcome["o"].error == expected
    with sessions_for(url)() as session:
        (record,) = map(as_record, latest_attempts(session))
    assert record["status"] == "failed" and record["error"] == expected
    assert not list((tmp_path / "out").glob("**/*.partial"))
