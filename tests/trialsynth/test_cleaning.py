import numpy as np
import pandas as pd
import pytest

from trialsynth import cleaning
from trialsynth.errors import TrialDataError

BASE = {
    "treatment": [0, 1, 0, 1, 0, 1],
    "post_test_1": [1.5, 2.5, np.nan, 3.0, 2.0, 1.0],
}


def _frame(**extra):
    return pd.DataFrame({**BASE, **extra})


@pytest.mark.parametrize(
    ("column", "values", "reason"),
    [
        ("empty", [np.nan] * 6, "empty: every value is missing"),
        ("project", ["p"] * 6, "constant: one value in every row"),
        ("pupil_id", [11, 12, 13, 14, 15, 16], "unit id: unique in every row"),
        ("upn", ["a1", "a2", "a3", "a4", "a5", "a6"], "unit id: unique in every row"),
        ("fsm_label", ["yes", "no", "no", "yes", "no", "no"], "descriptor of 'fsm'"),
    ],
)
def test_each_drop_rule_records_its_reason(column, values, reason):
    frame = _frame(fsm=[1, 0, 0, 1, 0, 0], **{column: values})
    data, meta = cleaning.clean(frame, trial_id="t", treatment="treatment", outcomes=["post_test_1"])
    assert column not in data.columns
    assert (column, reason) in [(d.name, d.reason) for d in meta.dropped]


@pytest.mark.parametrize(
    ("values", "kept"),
    [
        ([0.5, 1.25, 2.0, 3.75, 4.0, 5.5], True),  # unique floats are measurements, not ids
        ([1, 1, 2, 2, 3, 3], True),
        ([1, 2, 3, 4, 5, np.nan], True),  # an id column with a gap is not a complete id
    ],
)
def test_columns_that_look_like_ids_but_are_not(values, kept):
    data, _ = cleaning.clean(_frame(x=values), trial_id="t", treatment="treatment", outcomes=["post_test_1"])
    assert ("x" in data.columns) is kept


def test_roles_are_never_dropped():
    frame = _frame(school=["s"] * 6)
    data, meta = cleaning.clean(
        frame, trial_id="t", treatment="treatment", outcomes=["post_test_1"], cluster="school"
    )
    assert "school" in data.columns and meta.kinds["school"] == "categorical"


def test_manifest_drop_and_kinds():
    frame = _frame(band=[1, 2, 3, 1, 2, 3], score=["1.5", "2", "3.5", "4", "2", "6"], sex=["F", "M"] * 3)
    data, meta = cleaning.clean(
        frame,
        trial_id="t",
        treatment="treatment",
        outcomes=["post_test_1"],
        categorical=["band"],
        drop=["sex"],
    )
    assert meta.kinds == {
        "treatment": "binary",
        "post_test_1": "continuous",
        "band": "categorical",
        "score": "continuous",
    }
    assert data["score"].tolist() == [1.5, 2.0, 3.5, 4.0, 2.0, 6.0]
    assert meta.dropped[0].reason == "listed in the manifest's drop"


def test_stray_text_in_a_numeric_column_is_warned_and_blanked():
    frame = pd.DataFrame({"score": ["1.5", "2", "3.5", "4", "x", "6"], "label": ["a", "b"] * 3})
    with pytest.warns(UserWarning, match="column 'score': 1 non-numeric values set to missing"):
        coerced = cleaning.coerce_numeric_text(frame, protected_text=set(), share=0.8)
    assert coerced["score"].isna().sum() == 1 and coerced["label"].tolist() == ["a", "b"] * 3


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (pd.DataFrame({"post_test_1": [1.0, 2.0]}), "column 'treatment' is not in the data"),
        (pd.DataFrame({"treatment": [0, np.nan], "post_test_1": [1.0, 2.0]}), "has 1 missing values"),
        (pd.DataFrame({"treatment": [0, 1, 2], "post_test_1": [1.0, 2.0, 3.0]}), "exactly 2 arms, found 3"),
    ],
)
def test_role_errors(frame, message):
    with pytest.raises(TrialDataError, match=message):
        cleaning.clean(frame, trial_id="t", treatment="treatment", outcomes=["post_test_1"])


def test_missing_categories_round_trip():
    frame = pd.DataFrame({"band": ["low", None, "high"], "code": [1.0, 2.0, np.nan]})
    encoded = cleaning.encode_missing_categories(frame, ["band", "code"])
    assert encoded["band"].tolist() == ["low", "NA", "high"]
    assert encoded["code"].tolist() == ["1", "2", "NA"]
    labels = {c: frame[c].dropna().unique() for c in frame}
    decoded = cleaning.decode_missing_categories(encoded, labels)
    assert decoded["band"].tolist()[::2] == ["low", "high"] and pd.isna(decoded["band"][1])
    assert decoded["code"].tolist()[:2] == [1.0, 2.0] and pd.isna(decoded["code"][2])


def test_missing_indicators_round_trip():
    frame = pd.DataFrame({"x": [1.0, np.nan, 3.0], "y": [1.0, 2.0, 3.0]})
    with_indicators = cleaning.add_missing_indicators(frame, ["x", "y"])
    assert list(with_indicators.columns) == ["x", "y", "x__missing"]
    with_indicators["x"] = with_indicators["x"].fillna(0.0)
    back = cleaning.apply_missing_indicators(with_indicators)
    assert back["x"].isna().tolist() == [False, True, False] and list(back.columns) == ["x", "y"]


def test_restore_dropped_rebuilds_the_layout_without_real_ids():
    frame = _frame(
        pupil_id=[501, 502, 503, 504, 505, 506],
        project=["p"] * 6,
        empty=[np.nan] * 6,
        fsm=[1, 0, 0, 1, 0, 0],
        fsm_label=["yes", "no", "no", "yes", "no", "no"],
    )
    data, meta = cleaning.clean(frame, trial_id="t", treatment="treatment", outcomes=["post_test_1"])
    synthetic = data.iloc[[1, 0, 3]].reset_index(drop=True)
    restored = cleaning.restore_dropped(synthetic, meta)
    assert list(restored.columns) == list(frame.columns)
    assert restored["pupil_id"].tolist() == [1, 2, 3]
    assert restored["project"].tolist() == ["p"] * 3 and restored["empty"].isna().all()
    assert restored["fsm_label"].tolist() == ["no", "yes", "yes"]


def test_manifest_drops_are_not_restored():
    frame = _frame(secret=["a", "b", "a", "b", "a", "b"])
    data, meta = cleaning.clean(
        frame, trial_id="t", treatment="treatment", outcomes=["post_test_1"], drop=["secret"]
    )
    assert "secret" not in cleaning.restore_dropped(data, meta).columns
