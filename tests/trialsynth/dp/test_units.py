from statistics import NormalDist

import numpy as np
import pandas as pd
import pytest

from trialsynth.dp.domain import selection_threshold
from trialsynth.dp.units import as_pupils, bounded


def test_each_pupil_gives_exactly_k_of_its_own_rows():
    units = np.array(["a"] * 7 + ["b"] * 2 + ["c"] * 4)
    data = pd.DataFrame({"pupil": units, "row": np.arange(len(units))})
    out = bounded(data, units, 4)
    assert out.groupby("pupil").size().to_dict() == {"a": 4, "b": 4, "c": 4}
    assert out.loc[out["pupil"] == "a", "row"].is_unique  # more rows than k: k of them, none twice
    assert set(out.loc[out["pupil"] == "b", "row"]) == {7, 8}  # fewer: all of them, some again
    assert sorted(out.loc[out["pupil"] == "c", "row"]) == [9, 10, 11, 12]
    with pytest.raises(ValueError, match="units marks 3 rows"):
        bounded(data, units[:3], 4)


def test_a_neighbouring_file_differs_in_exactly_one_pupils_k_rows():
    """Replacing one pupil's rows (any number of them) changes k rows of the bounded file, and
    its row count is the pupil count times k either way."""
    units = np.repeat(np.arange(50), np.random.default_rng(0).integers(1, 9, 50))
    data = pd.DataFrame({"pupil": units, "value": np.zeros(len(units))})
    other_units = np.concatenate([units[units != 7], np.full(20, 7)])  # pupil 7 now has 20 rows
    other = pd.DataFrame({"pupil": other_units, "value": np.where(other_units == 7, 1.0, 0.0)})
    one, two = bounded(data, units, 3), bounded(other, other_units, 3)
    assert len(one) == len(two) == 150
    assert int((two["value"] == 1.0).sum()) == 3


def test_a_value_one_pupil_holds_needs_a_threshold_above_its_k_rows():
    z = NormalDist().inv_cdf
    assert selection_threshold(2.0, 1e-9, 5) == pytest.approx(1 + 1 + 2.0 * z(1 - 1e-9 / 5))
    # its k rows counted, and delta shared among the k values it may hold in each histogram
    assert selection_threshold(8.0, 1e-9, 5, held=4) == pytest.approx(4 + 1 + 8.0 * z(1 - 1e-9 / 20))


def test_private_rows_come_back_as_pupils_of_k_rows_by_arm():
    rng = np.random.default_rng(1)
    synthetic = pd.DataFrame({"arm": rng.integers(0, 2, 40), "y": rng.normal(size=40)})
    meta = type("Meta", (), {"treatment": "arm", "cluster": None})()
    ordered, pupils = as_pupils(synthetic, meta, 4)
    assert len(ordered) == 40 and np.bincount(pupils).tolist() == [4] * 10
    assert (ordered.groupby(pupils)["arm"].nunique() > 1).sum() <= 1  # at most the pupil at the seam
