"""Archive-level tasks: the run is planned from one parse of the manifest, largest input first."""

import pytest

from tests.conftest import write_archive
from trialsynth.data.surrogate import TrialShape, make_trial
from trialsynth.errors import RegistryError


def test_plans_are_built_largest_first_and_for_the_named_trials_only(tmp_path):
    from tasks.archive import plan_run_task

    trials = {"small": make_trial(TrialShape(200, 15), 1), "big": make_trial(TrialShape(900, 15), 2)}
    manifest = write_archive(tmp_path, trials)
    plans = plan_run_task.fn(str(manifest))
    assert [p.trial_id for p in plans] == ["big", "small"]
    assert plans[0].archive == "test" and plans[0].policy.small_threshold == 300
    assert [p.trial_id for p in plan_run_task.fn(str(manifest), ["small", "small"])] == ["small"]
    with pytest.raises(RegistryError, match="unknown trial 'nope'"):
        plan_run_task.fn(str(manifest), ["nope"])


def test_failed_trials_are_read_after_stale_attempts_expire(tmp_path):
    from tasks.archive import expire_stale_attempts_task, failed_trials_task
    from trialsynth.catalogue.attempts import finish_attempt, start_attempt
    from trialsynth.catalogue.session import sessions_for

    url = f"sqlite:///{tmp_path / 'c.db'}"
    sessions = sessions_for(url)
    done = start_attempt(sessions, run_id="r", archive="a", trial_id="t1", seed=1, code_version="x")
    finish_attempt(sessions, done, status="failed")
    start_attempt(sessions, run_id="r", archive="a", trial_id="t2", seed=1, code_version="x")
    assert failed_trials_task.fn(url, "a") == ["t1"]  # t2 is still running (its owner is us)
    assert expire_stale_attempts_task.fn(url) == []
