"""The public domain and its estimation under DP, tested as an adversary would: a value that one
record alone holds must (almost) never enter the domain."""

import numpy as np
import pandas as pd
import pytest

from trialsynth.domain import ColumnDomain, PublicDomain, conform
from trialsynth.dp.domain import complete, draft_domain
from trialsynth.dp.noise import PublicNoise

RHO, DELTA = 0.05, 1e-6


def _frame(extra: dict | None = None, n: int = 2000) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "school": rng.choice(["A", "B", "C"], n),
            "score": np.round(rng.uniform(10, 90, n), 1),
        }
    )
    if extra:
        frame.loc[0, list(extra)] = list(extra.values())
    return frame


ESTIMATED = PublicDomain(
    (ColumnDomain("school", "categorical", missing=None), ColumnDomain("score", "continuous", missing=None)),
    estimate=True,
)


def test_a_declared_domain_is_used_as_it_is():
    declared = PublicDomain((ColumnDomain("school", levels=("A", "B", "C")),))
    done, record = complete(_frame(), declared, RHO, DELTA, PublicNoise(np.random.default_rng(0)))
    assert done is declared and record == {}


def test_an_incomplete_domain_without_estimate_names_what_is_missing():
    domain = PublicDomain((ColumnDomain("school", "categorical"), ColumnDomain("score", bounds=(0, 1))))
    assert domain.problems(required=["arm"]) == [
        "column 'arm' is a role of the trial but not in the public domain: declare it",
        "column 'school': declare levels (or set estimate: true to estimate them under DP with "
        "estimate_share of the budget)",
    ]
    assert PublicDomain((ColumnDomain("x"),)).problems() == ["column 'x': declare its kind, levels or bounds"]


def test_estimation_finds_the_common_levels_and_bounds():
    done, record = complete(_frame(), ESTIMATED, RHO, DELTA, PublicNoise(np.random.default_rng(1)))
    assert done.column("school").levels == ("A", "B", "C") and done.column("school").missing is False
    low, high = done.column("score").bounds
    assert low <= 10 and high >= 90 and high <= 128  # the ladder's bins around 10..90
    assert record["columns"]["score"]["bounds"] == [low, high]


@pytest.mark.parametrize(
    ("extra", "check"),
    [
        ({"school": "Z-unique"}, lambda d: "Z-unique" not in d.column("school").levels),
        ({"school": None}, lambda d: d.column("school").missing is False),
        ({"score": 1e6}, lambda d: d.column("score").bounds[1] < 1e6),
        ({"score": None}, lambda d: d.column("score").missing is False),
    ],
    ids=["unique-label", "one-missing-label", "bound-breaking-value", "one-missing-number"],
)
def test_a_value_one_record_holds_never_enters_the_estimated_domain(extra, check):
    """The neighbouring dataset with one record replaced by one holding a new value: across 300
    independent estimations the value never enters the domain (each has chance <= delta)."""
    frame = _frame(extra)
    for seed in range(300):
        done, _ = complete(frame, ESTIMATED, RHO, DELTA, PublicNoise(np.random.default_rng(seed)))
        assert check(done), seed


def test_conform_maps_each_value_on_its_own():
    domain = PublicDomain((ColumnDomain("score", bounds=(0, 100)), ColumnDomain("school", levels=("A", "B"))))
    out = conform(
        pd.DataFrame({"score": ["5", "x", None], "school": ["A", "Q", None], "other": [1, 2, 3]}), domain
    )
    assert list(out.columns) == ["score", "school"]
    assert out["score"].tolist()[0] == 5.0 and out["score"].isna().tolist() == [False, True, True]


def test_draft_reads_levels_missing_and_precision_from_public_data():
    frame = pd.DataFrame({"g": ["b", "a", None], "x": [1.25, 2.5, 3.0]})
    draft = draft_domain(frame, {"g": "binary", "x": "continuous"}, {"x": (0.0, 5.0)})
    assert draft.column("g").levels == ("a", "b") and draft.column("g").missing is True
    assert draft.column("x").bounds == (0.0, 5.0) and draft.column("x").decimals == 2
