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


@pytest.mark.parametrize(
    ("values", "evidence"),
    [
        (RNG.permutation(np.arange(1000, 1400)), "spread as evenly"),  # shuffled record numbers
        (RNG.choice(np.arange(100000, 999999), 500, replace=False), "spread as evenly"),  # random ids
        (RNG.permutation(np.repeat(np.arange(300), RNG.integers(1, 5, 300))), "spread as evenly"),  # waves
        (np.sort(np.concatenate([np.arange(s, s + 60) for s in (100, 5000, 9000)])), "row order"),  # sites
    ],
)
def test_an_unnamed_id_is_refused_with_its_evidence(values, evidence):
    why = identifiers.looks_like_id(pd.Series(values, name="x"))
    assert why is not None and evidence in why


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
    frame.loc[0, "record"] = frame.loc[1, "record"]
    with pytest.raises(TrialDataError, match="'record' looks like an identifier .*spread as evenly"):
        clean(frame, Roles.of(treatment="trt", outcomes=["bili"]), trial_id="t")
