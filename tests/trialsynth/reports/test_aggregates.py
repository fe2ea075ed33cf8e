"""What a report may show of the real data: aggregates under the small-cell rule."""

import numpy as np
import pandas as pd

from trialsynth.data.cleaning import clean
from trialsynth.plan import Roles
from trialsynth.reports.aggregates import MIN_CELL, secure_aggregates


def _trial(n: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(
        {
            "arm": rng.choice(["control", "treated"], n),
            "score": rng.normal(100, 15, n).round(2),
            "region": rng.choice(["north", "south"], n),
            "school": rng.integers(1, 30, n),
        }
    )
    frame.loc[:4, "region"] = "island"  # 5 pupils: under the minimum cell
    frame.loc[0, "score"] = 412.37  # one extreme pupil
    frame.loc[10:13, "score"] = np.nan  # 4 missing: under the minimum cell
    return frame


def _aggregates(frame: pd.DataFrame):
    data, meta = clean(frame, Roles.of(treatment="arm", outcomes=["score"], cluster="school"), trial_id="t")
    return secure_aggregates(data, data, meta), data


def _column(aggregates, name):
    return next(c for c in aggregates["columns"] if c["name"] == name)


def _counts(shares, n):
    return [None if s is None else round(s * n) for s in shares]


def test_no_real_bar_under_the_minimum_cell():
    aggregates, data = _aggregates(_trial())
    n = len(data)
    region = _column(aggregates, "region")["bars"]
    assert "island" not in region["levels"]
    assert region["levels"][-1] == "other" and region["real"][-1] is None  # 5 pooled: still too few
    histogram = _column(aggregates, "score")["histogram"]
    shown = [c for c in _counts(histogram["real"], n) if c is not None]
    assert shown and min(c for c in shown if c) >= MIN_CELL
    extreme = next(
        i
        for i, (a, b) in enumerate(zip(histogram["edges"][:-1], histogram["edges"][1:], strict=True))
        if a <= 412.37 < b
    )
    assert histogram["real"][extreme] is None  # the bin of the extreme pupil is not drawn


def test_what_subtraction_from_the_total_recovers_is_a_safe_count():
    """A column's shown bars and missing share, taken from the trial's rows (public), leave 0 or
    at least the minimum cell: the 5 pooled pupils, the 4 missing scores and the extreme pupil
    cannot be recovered one by one."""
    aggregates, data = _aggregates(_trial())
    n = len(data)
    for column in aggregates["columns"]:
        cells = column.get("histogram") or column["bars"]
        shown = [c for c in _counts([*cells["real"], column["missing"]["real"]], n) if c is not None]
        hidden = n - sum(shown)
        assert hidden == 0 or hidden >= MIN_CELL, (column["name"], hidden)


def test_suppression_is_completed_smallest_first():
    from trialsynth.reports.aggregates import suppress

    assert suppress([200, 194, 5, 0], 10) == [200, None, None, 0]
    assert suppress([50, 40, 3, 4], 10) == [50, None, None, None]
    assert suppress([50, 40, 12], 10) == [50, 40, 12]


def test_a_real_extreme_or_small_missing_count_is_not_printed():
    frame = _trial()
    frame["age"] = np.random.default_rng(2).integers(12, 73, len(frame))  # integer scores: 12..72
    aggregates, data = _aggregates(frame)
    for name in ("score", "age"):
        edges = _column(aggregates, name)["histogram"]["edges"]
        assert edges[0] < data[name].min() and edges[-1] > data[name].max(), name  # ends outside
    assert _column(aggregates, "score")["missing"]["real"] is None  # 4 missing: under the rule
    assert _column(aggregates, "region")["missing"]["real"] == 0.0


def test_school_sizes_are_rounded_quartiles_only():
    aggregates, data = _aggregates(_trial())
    schools = aggregates["schools"]["real"]
    assert schools["schools"] == data["school"].nunique()
    assert all(q % 5 == 0 for q in schools["quartiles"])


def test_correlations_are_of_continuous_columns():
    rng = np.random.default_rng(1)
    frame = _trial().assign(pre=lambda f: f["score"].fillna(100) + rng.normal(0, 5, len(f)))
    aggregates, _ = _aggregates(frame)
    correlation = aggregates["correlation"]
    assert set(correlation["columns"]) == {"score", "pre"}  # the continuous ones; arm and school are not
    assert correlation["difference"][0][1] == 0.0  # the file against itself
