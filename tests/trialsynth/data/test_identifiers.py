import numpy as np
import pandas as pd
import pytest

from trialsynth.data import identifiers
from trialsynth.data.cleaning import clean
from trialsynth.errors import TrialDataError
from trialsynth.plan import Roles

RNG = np.random.default_rng(30)


def _lab(n: int, median: float, spread: float) -> np.ndarray:
    """A laboratory value at integer precision: skewed, hundreds of values, a handful of rows each."""
    return np.round(np.exp(RNG.normal(np.log(median), spread, n)))


@pytest.mark.parametrize(
    ("values", "name"),
    [
        (_lab(300, 350, 0.35), "chol"),  # 150-1000 mg/dl
        (_lab(400, 250, 0.4), "platelet"),
        (np.round(RNG.normal(3300, 550, 800)), "birthweight_g"),
        (np.round(RNG.exponential(1500, 400)) + 40, "days_to_event"),
    ],
)
def test_an_integer_measurement_is_not_taken_for_an_id(values, name):
    column = pd.Series(values, name=name)
    assert column.nunique() > identifiers.MAX_CATEGORIES
    assert column.value_counts().iloc[0] <= identifiers.MAX_ROWS_PER_ID  # the old rule refused these
    assert identifiers.looks_like_id(column) is None


def _blocks(starts, size=60):
    return np.concatenate([np.arange(s, s + size) for s in starts])


@pytest.mark.parametrize(
    "values",
    [
        RNG.permutation(np.arange(1000, 1400)),  # shuffled record numbers
        RNG.choice(np.arange(100000, 999999), 500, replace=False),  # random six-digit ids
        RNG.permutation(_blocks((1000, 2000, 3000, 4000))),  # site * 1000 + k, shuffled
        RNG.permutation(_blocks((20190000, 20200000), 150)),  # year-prefixed, in two batches
        RNG.permutation(np.repeat(np.arange(300), 3)),  # three waves per pupil
    ],
)
def test_an_unnamed_id_is_refused_with_its_evidence(values):
    why = identifiers.looks_like_id(pd.Series(values, name="x"))
    assert why is not None and "as numbers handed out are" in why


def test_a_long_format_id_with_a_varying_number_of_rows_is_refused_by_its_rows():
    pupils = np.repeat(np.arange(400), RNG.integers(1, 5, 400))
    sex = RNG.choice(["F", "M"], 400)[pupils]
    frame = pd.DataFrame({"x": pupils, "sex": sex, "score": RNG.normal(size=len(pupils))})
    frame = frame.sample(frac=1, random_state=1).reset_index(drop=True)
    assert identifiers.looks_like_id(frame["x"]) is None  # its values alone: ties that vary
    why = identifiers.looks_like_id(frame["x"], frame)
    assert why is not None and "agree on 'sex'" in why


@pytest.mark.parametrize(
    "values",
    [
        RNG.integers(0, 365, 1000),  # age in days within one school year: ties of unrelated pupils
        RNG.integers(0, 730, 1500),  # days since randomisation
        np.sort(np.round(RNG.normal(100, 15, 900))),  # a score, the file sorted by it
    ],
)
def test_a_flat_or_sorted_measurement_with_ties_is_kept(values):
    frame = pd.DataFrame({"x": values, "sex": RNG.choice(["F", "M"], len(values))})
    assert identifiers.looks_like_id(frame["x"], frame) is None


def test_a_named_id_is_refused_whatever_its_spread():
    blocks = RNG.permutation(np.concatenate([np.arange(s, s + 60) for s in (100, 5000, 9000)]))
    assert "name like an identifier" in identifiers.looks_like_id(pd.Series(blocks, name="patient_no"))


def test_a_clinical_file_with_laboratory_values_cleans_without_declarations():
    n = 300
    frame = pd.DataFrame(
        {
            "trt": RNG.integers(0, 2, n),
            "chol": _lab(n, 350, 0.35),
            "copper": _lab(n, 75, 0.7),
            "platelet": _lab(n, 250, 0.4),
            "bili": np.round(np.exp(RNG.normal(0.3, 1, n)), 1),
        }
    )
    data, meta = clean(frame, Roles.of(treatment="trt", outcomes=["bili"]), trial_id="t")
    assert {"chol", "copper", "platelet"} <= set(data.columns)
    assert meta.kinds["chol"] == "continuous"
    frame["record"] = RNG.permutation(n) + 7000  # and an id beside them is still refused
    frame.loc[0, "record"] = frame.loc[1, "record"]  # (unique in every row, it would be dropped)
    with pytest.raises(TrialDataError, match="'record' looks like an identifier .*handed out"):
        clean(frame, Roles.of(treatment="trt", outcomes=["bili"]), trial_id="t")
