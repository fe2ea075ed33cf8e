"""School outputs: sizes grouped, arms where schools were randomised whole, the ICC as a
variance component from enough schools."""

import numpy as np
import pandas as pd

from trialsynth.data.schools import icc
from trialsynth.meta import TrialMeta
from trialsynth.outputs import clear_outputs


def _clustered(n_schools=30, per_school=40, by_school=False, sd_school=0.5, seed=0):
    rng = np.random.default_rng(seed)
    school = np.repeat(np.arange(n_schools), per_school)
    arm_of_school = rng.permutation(np.arange(n_schools) % 2)
    treatment = arm_of_school[school] if by_school else rng.integers(0, 2, len(school))
    effect = rng.normal(0, sd_school, n_schools)[school]
    frame = pd.DataFrame(
        {
            "treatment": treatment,
            "pre": np.round(rng.normal(size=len(school)) + effect, 2),
            "post": np.round(0.3 * treatment + effect + rng.normal(size=len(school)), 2),
            "school": [f"s{i}" for i in school],
        }
    )
    meta = TrialMeta(
        kinds={"treatment": "binary", "pre": "continuous", "post": "continuous", "school": "categorical"},
        treatment="treatment",
        outcomes=("post",),
        cluster="school",
    )
    return frame, meta


def test_the_icc_is_released_rounded_from_enough_schools():
    frame, meta = _clustered()
    out = clear_outputs(frame, meta)
    assert out.icc_outcome == "post"
    assert out.school_icc == round(icc(frame, "post", "school"), 2) and out.school_icc > 0.1
    assert any(c["rule"] == "variance component" and "released" in c["action"] for c in out.clearance)


def test_no_icc_from_too_few_schools():
    frame, meta = _clustered(n_schools=8, per_school=100)
    out = clear_outputs(frame, meta)
    assert out.school_icc is None and out.icc_outcome is None
    assert any(c["rule"] == "variance component" and "not released" in c["action"] for c in out.clearance)


def test_a_negative_icc_is_released_as_zero():
    frame, meta = _clustered(sd_school=0.0, seed=4)
    assert icc(frame, "post", "school") < 0.01
    assert clear_outputs(frame, meta).school_icc == 0.0


def test_arms_are_released_only_where_schools_were_randomised_whole():
    frame, meta = _clustered(by_school=True)
    out = clear_outputs(frame, meta)
    assert len(out.cluster_arms) == len(out.cluster_sizes) and set(out.cluster_arms) == {0, 1}
    assert sum(out.cluster_arms) == 15  # each arm's 15 schools grouped within the arm
    pupils, pupil_meta = _clustered(by_school=False)
    assert clear_outputs(pupils, pupil_meta).cluster_arms == ()


def test_arms_are_not_released_when_an_arm_has_too_few_schools():
    frame, meta = _clustered(by_school=True)
    frame["treatment"] = (frame["school"].isin(["s0", "s1", "s2"])).astype(int)  # 3 treated schools
    out = clear_outputs(frame, meta)
    assert out.cluster_arms == ()
    assert any(c["where"] == "school arms" and "not released" in c["action"] for c in out.clearance)


def test_arms_are_not_released_when_pooling_leaves_an_arm_too_few_sizes():
    """Five treated schools, four of them under the minimum cell and together under it too: one
    size would be left for the arm, that one school's own."""
    frame, meta = _clustered(by_school=True)
    treated = sorted(frame.loc[frame["treatment"] == 1, "school"].unique())
    frame = frame[(frame["treatment"] == 0) | frame["school"].isin(treated[:5])]
    keep = frame.groupby("school").cumcount() < np.where(frame["school"].isin(treated[1:5]), 2, 1000)
    frame = frame[keep].reset_index(drop=True)
    out = clear_outputs(frame, meta)
    assert out.cluster_arms == ()
