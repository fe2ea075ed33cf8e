"""School-level control: every school's values shared by its group, sizes equal within it, and
no profile left that fits one real school."""

import numpy as np
import pandas as pd

from trialsynth.cleaning import clean
from trialsynth.metrics.schools import fitting, profiles, school_level_columns, windows
from trialsynth.school_control import SCHOOL_GROUP, equalise_sizes, group_schools


def _trial(n_schools=40, seed=0):
    rng = np.random.default_rng(seed)
    sizes = rng.integers(12, 60, n_schools)
    school = np.repeat(np.arange(n_schools), sizes)
    arm = rng.integers(0, 2, n_schools)
    frame = pd.DataFrame(
        {
            "school_id": school,
            "treatment": arm[school],
            "school_fsm": np.round(rng.uniform(0, 60, n_schools), 1)[school],
            "region": rng.choice(["north", "south", "east", "west"], n_schools)[school],
            "pre_test": rng.normal(50, 10, len(school)).round(1),
            "post_test": rng.normal(50, 10, len(school)).round(1),
        }
    )
    return clean(frame, trial_id="t", treatment="treatment", outcomes=["post_test"], cluster="school_id")


def test_every_school_shares_its_values_with_its_group_and_its_arm_is_kept():
    data, meta = _trial()
    controlled, control = group_schools(data, meta)
    assert set(control.columns) == {"school_fsm", "region"} and control.groups >= 2
    per_school = controlled.groupby("school_id")[["treatment", "school_fsm", "region"]].first()
    shared = per_school.groupby(["treatment", "school_fsm", "region"]).size()
    assert shared.min() >= SCHOOL_GROUP
    assert (controlled["treatment"] == data["treatment"]).all()  # the arm is never coarsened
    assert (controlled[["pre_test", "post_test"]] == data[["pre_test", "post_test"]]).all().all()
    columns = school_level_columns(data, meta)
    real_profile, _ = profiles(data, "school_id", columns)
    mine, _ = profiles(controlled, "school_id", columns)
    assert (fitting(real_profile, mine, windows(data, real_profile, meta)).sum(axis=1) != 1).all()


def test_sizes_are_equal_within_a_profile():
    data, meta = _trial()
    controlled, control = group_schools(data, meta)
    equal, moved = equalise_sizes(controlled, meta, control, np.random.default_rng(1))
    assert moved > 0 and len(equal) == len(controlled)
    sizes = equal.groupby("school_id").size()
    profile = equal.groupby("school_id")[["school_fsm", "region"]].first().astype(str).agg("|".join, axis=1)
    spread = sizes.groupby(profile).agg(lambda s: s.max() - s.min())
    assert spread.max() <= 1
    unchanged = equal.drop(columns="school_id").equals(
        controlled.reset_index(drop=True).drop(columns="school_id")
    )
    assert unchanged  # only school labels move


def test_a_trial_without_school_level_columns_is_left_alone():
    data, meta = _trial()
    data = data.drop(columns=["school_fsm", "region", "treatment"]).assign(treatment=np.arange(len(data)) % 2)
    meta = clean(data, trial_id="t", treatment="treatment", outcomes=["post_test"], cluster="school_id")[1]
    same, control = group_schools(data, meta)
    assert same is data and not control.applied
