"""School-level control: every school's values shared by its group, sizes equal within it, and
no profile left that fits one real school."""

import numpy as np
import pandas as pd

from trialsynth.data.cleaning import clean
from trialsynth.disclosure.schools import SCHOOL_GROUP, assign_schools, group_schools
from trialsynth.evaluation.metrics.schools import fitting, profiles, school_level_columns, windows
from trialsynth.plan import Roles


def _trial(n_schools=40, seed=0, arms=None):
    rng = np.random.default_rng(seed)
    sizes = rng.integers(12, 60, n_schools)
    school = np.repeat(np.arange(n_schools), sizes)
    arm = rng.integers(0, 2, n_schools) if arms is None else np.asarray(arms)
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
    return clean(
        frame, Roles.of(treatment="treatment", outcomes=["post_test"], cluster="school_id"), trial_id="t"
    )


def test_every_school_shares_its_values_with_its_group_and_its_arm_is_kept():
    data, meta = _trial()
    controlled, control = group_schools(data, meta)
    assert set(control.columns) == {"school_fsm", "region"} and control.groups >= 2
    per_school = (
        controlled.assign(school=data["school_id"])
        .groupby("school")[["treatment", "school_fsm", "region"]]
        .first()
    )
    shared = per_school.groupby(["treatment", "school_fsm", "region"]).size()
    assert shared.min() >= SCHOOL_GROUP
    assert (controlled["treatment"] == data["treatment"]).all()  # the arm is never coarsened
    assert (controlled[["pre_test", "post_test"]] == data[["pre_test", "post_test"]]).all().all()
    columns = school_level_columns(data, meta)
    real_profile, _ = profiles(data, "school_id", columns)
    mine, _ = profiles(controlled.assign(school_id=data["school_id"]), "school_id", columns)
    assert (fitting(real_profile, mine, windows(data, real_profile, meta)).sum(axis=1) != 1).all()


def test_the_fit_sees_groups_and_each_group_is_dealt_into_equal_schools():
    data, meta = _trial()
    controlled, control = group_schools(data, meta)
    assert controlled["school_id"].str.startswith("group-").all()
    fit_meta = control.fit_meta(meta)
    assert fit_meta.cluster is None and fit_meta.kinds["school_id"] == "categorical"
    dealt = assign_schools(controlled, meta, control, np.random.default_rng(1))
    assert dealt["school_id"].nunique() == data["school_id"].nunique()
    assert pd.api.types.is_integer_dtype(dealt["school_id"])  # the real ids are numbers
    group_of = controlled["school_id"].to_numpy()
    sizes = dealt.groupby([group_of, dealt["school_id"].to_numpy()]).size()
    spread = sizes.groupby(level=0).agg(lambda s: s.max() - s.min())
    assert spread.max() <= 1  # equal sizes within a group: size tells its schools apart no more
    arms = dealt.groupby("school_id")["treatment"].nunique()
    assert (arms == 1).all()  # a school holds one arm, as in the real trial
    # no synthetic school is one real school: its pupils come from every school of its group
    origin = pd.Series(data["school_id"].to_numpy()).groupby(dealt["school_id"].to_numpy()).nunique()
    assert origin.min() > 1


def test_the_gate_compares_with_the_group_values():
    data, meta = _trial()
    controlled, control = group_schools(data, meta)
    grouped = control.grouped(data, "school_id")
    assert (grouped[["school_fsm", "region"]] == controlled[["school_fsm", "region"]]).all().all()
    assert (grouped["school_id"] == data["school_id"]).all()


def test_an_arm_with_too_few_schools_has_its_school_values_suppressed():
    arms = [0] * (SCHOOL_GROUP + 1) + [1] * (SCHOOL_GROUP - 2)  # arm 1: too few schools for a group
    data, meta = _trial(n_schools=len(arms), seed=3, arms=arms)
    controlled, control = group_schools(data, meta)
    assert control.suppressed == 1
    rows = controlled[controlled["treatment"] == 1]
    assert rows["school_fsm"].nunique() == 1 and rows["region"].nunique() == 1
    assert data.loc[data["treatment"] == 1, "school_fsm"].nunique() == SCHOOL_GROUP - 2  # it had its own


def test_without_school_level_columns_schools_are_still_grouped():
    """Size and pupil mix identify a school too: the grouping applies, no value changes."""
    data, meta = _trial()
    data = data.drop(columns=["school_fsm", "region", "treatment"]).assign(treatment=np.arange(len(data)) % 2)
    meta = clean(
        data, Roles.of(treatment="treatment", outcomes=["post_test"], cluster="school_id"), trial_id="t"
    )[1]
    controlled, control = group_schools(data, meta)
    assert control.applied and control.columns == ()
    assert controlled.drop(columns="school_id").equals(data.drop(columns="school_id"))
    assert controlled["school_id"].nunique() == control.groups < data["school_id"].nunique()
