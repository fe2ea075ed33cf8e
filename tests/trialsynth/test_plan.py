"""The plan of a trial is a frozen, public value that travels through task parameters and
process boundaries unchanged."""

import copy
import dataclasses
import pickle
from pathlib import Path

import pytest

from trialsynth.plan import Limits, Policy, Roles, TrialPlan


def _plan(**changes) -> TrialPlan:
    fields = {
        "archive": "a",
        "trial_id": "t",
        "roles": Roles("arm", ("post", "post_2"), cluster="school"),
        "seed": 7,
        "data_path": Path("/data/t.csv"),
        "bounds": {"post": (0, 200), "age": [4, 11]},
    }
    return TrialPlan(**{**fields, **changes})


def test_a_plan_survives_pickle_copy_and_hashing():
    plan = _plan()
    assert pickle.loads(pickle.dumps(plan)) == plan
    assert copy.deepcopy(plan) == plan and hash(plan) == hash(_plan())
    assert dataclasses.asdict(plan)["bounds"] == (("age", (4.0, 11.0)), ("post", (0.0, 200.0)))
    assert dict(plan.bounds) == {"age": (4.0, 11.0), "post": (0.0, 200.0)}
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.seed = 8  # type: ignore[misc]


def test_bounds_in_any_order_make_the_same_plan():
    assert _plan(bounds={"post": (0, 200), "age": (4, 11)}) == _plan(
        bounds=[("age", (4, 11)), ("post", (0, 200))]
    )


def test_a_plan_needs_data_or_outputs_and_knows_which():
    assert _plan().has_data and _plan().released_name == "t.csv"
    outputs_only = _plan(data_path=None, outputs_paths=[Path("/o/a.json")])
    assert not outputs_only.has_data and outputs_only.released_name == "released.csv"
    with pytest.raises(ValueError, match="needs a data file or released outputs"):
        _plan(data_path=None)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Roles("arm", ()), "at least one outcome"),
        (lambda: Roles("arm", ("arm",)), "cannot also be an outcome"),
        (lambda: Policy(small_threshold=10, large_threshold=5), "must not exceed"),
        (lambda: Policy(small_policy="cart"), "small_policy must be"),
    ],
)
def test_bad_plans_are_refused_with_the_reason(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_limits_decide_isolation():
    assert not Limits().isolated and Limits(time_s=5).isolated and Limits(memory_mb=100).isolated
