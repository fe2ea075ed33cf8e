"""The per-trial task: retried only for infrastructure errors; its body runs one engine call."""

import pytest
from sqlalchemy.exc import OperationalError

from tests.conftest import NO_RISK_LIMITS, context_in, plan_of, write_archive
from trialsynth.data.surrogate import TrialShape, make_trial


class _State:
    def __init__(self, error=None):
        self.error = error

    def result(self):
        if self.error:
            raise self.error
        return {"status": "succeeded"}


@pytest.mark.parametrize(
    ("error", "retry"),
    [
        (OperationalError("SELECT 1", {}, Exception("connection refused")), True),
        (OSError("disk full"), True),
        (ValueError("bad data"), False),
        (KeyError("column"), False),
        (None, False),
    ],
)
def test_only_infrastructure_errors_are_retried(error, retry):
    from tasks.trial import is_transient

    assert is_transient(None, None, _State(error)) is retry


def test_the_task_runs_its_plan_and_returns_a_summary_without_data(tmp_path):
    from prefect.logging import disable_run_logger

    from tasks.trial import process_trial_task

    manifest = write_archive(
        # lifted: CART on a few hundred rows is over the default risk limits; this test needs
        # the file released to check something else
        tmp_path,
        {"mid": make_trial(TrialShape(400, 15), 3)},
        risk_limits=NO_RISK_LIMITS,
    )
    url = f"sqlite:///{tmp_path / 'c.db'}"
    with disable_run_logger():
        summary = process_trial_task.fn(plan_of(manifest, "mid"), url, context_in(tmp_path))
    assert summary["trial_id"] == "mid" and summary["method"] == "cart"
    assert summary["status"] == "succeeded" and summary["error"] is None, summary["error"]
    assert set(summary) == {"trial_id", "status", "method", "ons_category", "error", "duration_s", "timings"}
