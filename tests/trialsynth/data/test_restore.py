import numpy as np

from tests.trialsynth.data.test_cleaning import _frame
from trialsynth.data import cleaning
from trialsynth.data.restore import restore_dropped
from trialsynth.plan import Roles


def test_restore_dropped_rebuilds_the_layout_without_real_ids():
    frame = _frame(
        pupil_id=[501, 502, 503, 504, 505, 506],
        project=["p"] * 6,
        empty=[np.nan] * 6,
        fsm=[1, 0, 0, 1, 0, 0],
        fsm_label=["yes", "no", "no", "yes", "no", "no"],
    )
    data, meta = cleaning.clean(
        frame, Roles.of(treatment="treatment", outcomes=["post_test_1"]), trial_id="t"
    )
    synthetic = data.iloc[[1, 0, 3]].reset_index(drop=True)
    restored = restore_dropped(synthetic, meta)
    assert list(restored.columns) == list(frame.columns)
    assert restored["pupil_id"].tolist() == [1, 2, 3]
    assert restored["project"].tolist() == ["p"] * 3 and restored["empty"].isna().all()
    assert restored["fsm_label"].tolist() == ["no", "yes", "yes"]


def test_manifest_drops_are_not_restored():
    frame = _frame(secret=["a", "b", "a", "b", "a", "b"])
    data, meta = cleaning.clean(
        frame, Roles.of(treatment="treatment", outcomes=["post_test_1"], drop=["secret"]), trial_id="t"
    )
    assert "secret" not in restore_dropped(data, meta).columns
