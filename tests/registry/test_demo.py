import numpy as np
import pytest

from registry import validate_registry
from registry.demo import STUDY_SHAPES, TrialShape, demo_plan, make_trial, write_demo_archive
from tests.conftest import clean_demo


def test_demo_trial_is_rct_like():
    frame = make_trial(TrialShape(4000, 22), seed=3)
    assert set(frame["treatment"].unique()) == {0, 1}
    # cluster-randomised: every school is wholly treated or wholly control
    assert (frame.groupby("school_id")["treatment"].nunique() == 1).all()
    # post-test attrition and item non-response are present
    assert 0.08 < frame["post_test_1"].isna().mean() < 0.2
    assert frame["ks2_band"].isna().any() and frame["pre_test_1"].isna().any()
    # a real treatment effect on the primary outcome, net of the pre-test
    complete = frame.dropna(subset=["pre_test_1", "post_test_1"])
    x = np.column_stack([np.ones(len(complete)), complete["pre_test_1"], complete["treatment"]])
    beta = np.linalg.lstsq(x, complete["post_test_1"], rcond=None)[0]
    assert 1.5 < beta[2] < 4.5


def test_demo_trial_cleans_to_its_shape():
    data, meta = clean_demo(make_trial(TrialShape(2000, 22), seed=4, empty_column=True))
    assert data.shape == (2000, 22)
    assert {d.name for d in meta.dropped} == {"pupil_id", "project_name", "fsm_label", "notes"}


def test_demo_trial_is_deterministic():
    a = make_trial(TrialShape(300, 14), seed=9)
    b = make_trial(TrialShape(300, 14), seed=9)
    assert a.equals(b)


def test_demo_plan_follows_the_study_mix():
    plan = demo_plan(32)
    rows = np.array([s.n_rows for s in plan])
    assert (plan[0].n_rows, plan[0].n_cols) == STUDY_SHAPES["mid"]
    assert (rows < 5000).sum() >= 2 and (rows >= 50000).sum() >= 2
    assert ((rows >= 5000) & (rows < 50000)).mean() > 0.7


def test_demo_archive_validates(tmp_path):
    path = write_demo_archive(tmp_path, plan=[TrialShape(300, 14), TrialShape(200, 13)])
    assert len(validate_registry(path).trials) == 2


def test_shape_rejects_too_few_columns():
    with pytest.raises(ValueError, match="n_cols"):
        TrialShape(100, 5)


def test_the_demo_archive_holds_every_trial_design_and_validates_with_its_data(tmp_path):
    from registry.bundled import BUNDLED_PLAN
    from registry.demo import DESIGN_SHAPES

    designs = {shape.design for shape in DESIGN_SHAPES}
    assert designs == {"three_arm", "factorial", "long", "narrow"}
    assert designs <= {shape.design for shape in BUNDLED_PLAN}
    assert designs <= {shape.design for shape in demo_plan(8)}
    path = write_demo_archive(tmp_path, plan=list(DESIGN_SHAPES))
    manifest = validate_registry(path, read_data=True)  # cleaning, routing and route checks pass
    entries = {t.id: t for t in manifest.trials}
    assert entries["trial-002"].unit == "pupil_id"
    three_arm = make_trial(DESIGN_SHAPES[0], 0)
    assert three_arm["treatment"].nunique() == 3 and three_arm["treatment"].isna().any()
