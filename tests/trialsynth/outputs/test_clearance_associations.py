"""Associations as released: rank correlations of values and missingness, pairs of discrete
columns only when their cross-table's every cell holds the minimum."""

import numpy as np
import pandas as pd

from trialsynth.meta import TrialMeta
from trialsynth.outputs import clear_outputs


def _trial(n=800, seed=0):
    rng = np.random.default_rng(seed)
    ability = rng.normal(size=n)
    frame = pd.DataFrame(
        {
            "treatment": rng.integers(0, 2, n),
            "pre": np.round(50 + 10 * ability + rng.normal(0, 4, n), 1),
            "band": np.select([ability < -0.5, ability < 0.5], ["low", "middle"], "high"),
            "fsm": (rng.random(n) < 0.3).astype(int),
            "post": np.round(50 + 9 * ability + rng.normal(0, 5, n), 1),
        }
    )
    absent = rng.random(n) < 0.12
    frame.loc[absent, "post"] = np.nan
    frame.loc[(absent & (rng.random(n) < 0.85)) | (rng.random(n) < 0.03), "pre"] = np.nan  # mostly together
    meta = TrialMeta(
        kinds={
            "treatment": "binary",
            "pre": "continuous",
            "band": "categorical",
            "fsm": "binary",
            "post": "continuous",
        },
        treatment="treatment",
        outcomes=("post",),
    )
    return frame, meta


def _matrix(out):
    names = list(out.latent_names)
    return names, np.asarray(out.latent_correlations)


def test_values_and_missingness_are_associated_as_in_the_data():
    frame, meta = _trial()
    out = clear_outputs(frame, meta)
    names, r = _matrix(out)
    assert names[:2] == ["treatment", "pre"] and "pre__missing" in names
    assert r[names.index("pre"), names.index("post")] > 0.8
    assert r[names.index("pre__missing"), names.index("post__missing")] > 0.7
    assert np.allclose(r, r.T) and np.all(np.diag(r) == 1.0)
    assert np.all(np.round(r, 2) == r)  # two decimals


def test_a_nominal_variable_enters_in_the_outcome_order():
    frame, meta = _trial()
    out = clear_outputs(frame, meta)
    order = dict(out.latent_orders)["band"]
    levels = out.variable("band").levels
    assert [levels[i] for i in order] == ["low", "middle", "high"]  # not the alphabetical order
    names, r = _matrix(out)
    assert r[names.index("band"), names.index("pre")] > 0.7


def test_a_pair_of_two_valued_columns_with_a_small_cell_is_released_as_zero():
    frame, meta = _trial()
    frame["flag"] = 0
    frame.loc[frame.index[:40], "flag"] = 1
    frame.loc[frame.index[:40], "fsm"] = 1  # flag = 1 only with fsm = 1: an empty cell
    frame.loc[frame.index[:8], "fsm"] = 0  # and 8 rows with fsm = 0: a cell under 10
    meta = TrialMeta(kinds={**meta.kinds, "flag": "binary"}, treatment="treatment", outcomes=("post",))
    out = clear_outputs(frame, meta)
    names, r = _matrix(out)
    assert r[names.index("fsm"), names.index("flag")] == 0.0
    (check,) = [c for c in out.clearance if c["where"] == "associations"]
    assert (
        r[names.index("fsm"), names.index("treatment")] != 0.0
        or abs(frame["fsm"].corr(frame["treatment"])) < 0.01
    )
    assert "pairs of discrete columns released as 0" in check["action"]


def test_a_binary_by_three_level_pair_with_a_small_cell_is_released_as_zero():
    """A 2x3 table is narrowed to within a few rows by the correlation and the proportions."""
    frame, meta = _trial()
    frame["fsm"] = 0
    frame.loc[frame["band"] == "high", "fsm"] = 1
    frame.loc[frame.index[frame["band"] == "low"][:6], "fsm"] = 1  # 6 low-band pupils on FSM
    out = clear_outputs(frame, meta)
    names, r = _matrix(out)
    assert r[names.index("fsm"), names.index("band")] == 0.0
    assert r[names.index("fsm"), names.index("pre")] != 0.0  # a continuous pair is not a table
