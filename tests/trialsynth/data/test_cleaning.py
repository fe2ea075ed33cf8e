import numpy as np
import pandas as pd
import pytest

from trialsynth.data import cleaning
from trialsynth.errors import TrialDataError
from trialsynth.plan import Roles

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
    data, meta = cleaning.clean(
        frame, Roles.of(treatment="treatment", outcomes=["post_test_1"]), trial_id="t"
    )
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
    data, _ = cleaning.clean(
        _frame(x=values), Roles.of(treatment="treatment", outcomes=["post_test_1"]), trial_id="t"
    )
    assert ("x" in data.columns) is kept


def test_roles_are_never_dropped():
    frame = _frame(school=["s"] * 6)
    data, meta = cleaning.clean(
        frame, Roles.of(treatment="treatment", outcomes=["post_test_1"], cluster="school"), trial_id="t"
    )
    assert "school" in data.columns and meta.kinds["school"] == "categorical"


def test_manifest_drop_and_kinds():
    frame = _frame(band=[1, 2, 3, 1, 2, 3], score=["1.5", "2", "3.5", "4", "2", "6"], sex=["F", "M"] * 3)
    data, meta = cleaning.clean(
        frame,
        Roles.of(treatment="treatment", outcomes=["post_test_1"], categorical=["band"], drop=["sex"]),
        trial_id="t",
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
        (pd.DataFrame({"treatment": [np.nan, np.nan], "post_test_1": [1.0, 2.0]}), "missing in every row"),
        (pd.DataFrame({"treatment": [0, np.nan, 0], "post_test_1": [1.0, 2.0, 3.0]}), "one arm only"),
    ],
)
def test_role_errors(frame, message):
    with pytest.raises(TrialDataError, match=message):
        cleaning.clean(frame, Roles.of(treatment="treatment", outcomes=["post_test_1"]), trial_id="t")
