"""Nearest-neighbour distances: scaled, exact, and the outliers they are named for."""

import numpy as np
import pandas as pd
import pytest

from trialsynth.data.cleaning import clean
from trialsynth.evaluation.metrics import METRICS, evaluation_view
from trialsynth.plan import Roles


def _trial(n: int = 400, seed: int = 2) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "arm": rng.choice(["control", "treated"], n),
            "income": rng.uniform(0, 100_000, n).round(2),  # a wide column
            "score": rng.uniform(0, 1, n).round(3),  # a narrow one
            "group": rng.choice(["a", "b", "c"], n),
        }
    )


def _metric(family: str, real: pd.DataFrame, synthetic: pd.DataFrame) -> dict[str, float]:
    both, meta = clean(
        pd.concat([real, synthetic], ignore_index=True),
        Roles.of(treatment="arm", outcomes=["score"]),
        trial_id="t",
    )
    data, synth = both.iloc[: len(real)], both.iloc[len(real) :].reset_index(drop=True)
    real_view, synth_view, context = evaluation_view(data, synth, meta, seed=1)
    return METRICS[family](real_view, synth_view, context)


def _nn(real: pd.DataFrame, synthetic: pd.DataFrame) -> dict[str, float]:
    return _metric("nearest_neighbour", real, synthetic)


def test_a_copied_record_is_at_distance_exactly_zero():
    real = _trial()
    synthetic = _trial(seed=3)
    synthetic.iloc[7] = real.iloc[123]
    assert _nn(real, synthetic)["min_nn_distance"] == 0.0
    assert _nn(real, _trial(seed=3))["min_nn_distance"] > 0


def test_no_column_dominates_by_its_units():
    """A file one income unit from a real record is closer than one a third of the score's range
    away; unscaled (the study's Manhattan) it is the other way round."""
    real = _trial()
    far = real.iloc[[0]].assign(score=lambda f: (f["score"] + 0.3) % 1)
    near = real.iloc[[0]].assign(income=lambda f: f["income"] + 1)
    far_nn, near_nn = _nn(real, far), _nn(real, near)
    assert near_nn["min_nn_distance"] < 1e-4 and near_nn["min_nn_distance"] * 100 < far_nn["min_nn_distance"]
    assert near_nn["min_nn_distance_study"] >= far_nn["min_nn_distance_study"]


def test_a_category_mismatch_counts_as_a_whole_range():
    from trialsynth.evaluation.metrics.privacy import scaled_rows

    real = _trial()
    data, meta = clean(real, Roles.of(treatment="arm", outcomes=["score"]), trial_id="t")
    other = data.iloc[[0]].assign(group=lambda f: np.where(f["group"] == "a", "b", "a"))
    real_view, synth_view, context = evaluation_view(data, other, meta, seed=1)
    real_rows, synth_rows = scaled_rows(real_view, synth_view, context)
    assert np.linalg.norm(real_rows[0] - synth_rows[0]) == pytest.approx(1.0)
    assert real_rows[:, : len(context.numeric)].min() == 0 and real_rows.max() == 1


def test_the_outlier_distance_is_to_real_outliers():
    real = _trial()
    real.loc[len(real)] = ["control", 1_000_000.0, 0.5, "a"]  # one far outlier on income
    beside_outlier = real.iloc[[len(real) - 1]].assign(income=999_000.0)
    measured = _nn(real, beside_outlier)
    assert measured["min_nn_distance_outliers"] < 0.01
    typical = _nn(real, real.iloc[[0]].assign(income=lambda f: f["income"] + 1))
    assert typical["min_nn_distance"] < 0.01 < typical["min_nn_distance_outliers"]


def _overlap(real: pd.DataFrame, synthetic: pd.DataFrame) -> dict[str, float]:
    return _metric("overlap", real, synthetic)


def _narrow(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "arm": rng.choice(["control", "treated"], n),
            "score": rng.integers(1, 4, n),
            "group": rng.choice(["a", "b", "c"], n),
            "flag": rng.integers(0, 2, n),
        }
    )


def test_on_a_narrow_coded_file_a_fresh_draw_reproduces_records_as_surely_as_a_copy():
    real = _narrow(2000, 1)
    fresh = _overlap(real, _narrow(2000, 2))  # 36 possible rows: every one is many pupils'
    assert fresh["sample_overlap"] == 1.0 and fresh["sample_overlap_baseline"] == 1.0
    assert abs(fresh["exact_match_excess"]) < 0.02


def test_a_copy_on_a_rich_domain_is_read_beyond_a_fresh_draw():
    real = _trial(1000)
    copy = _overlap(real, real.sample(frac=1, random_state=0))
    fresh = _overlap(real, _trial(1000, seed=9))
    assert copy["sample_overlap_baseline"] == 0.0 and fresh["exact_match_excess"] == 0.0
    assert 0.45 < copy["exact_match_excess"] < 0.55  # half the copied rows are the reference half's


def test_a_copy_on_a_coarse_domain_is_still_read_as_a_copy():
    """Eight skewed binary columns: a fresh draw already matches most real rows (baseline near
    0.9); a copy goes halfway from there to all of them."""
    rng = np.random.default_rng(5)

    def coarse(seed: int) -> pd.DataFrame:
        r = np.random.default_rng(seed)
        return pd.DataFrame(
            {
                "arm": r.choice(["control", "treated"], 1000),
                "score": r.integers(0, 2, 1000),
                **{f"b{k}": (r.random(1000) < 0.08).astype(int) for k in range(6)},
            }
        )

    real = coarse(1)
    copy = _overlap(real, real.sample(frac=1, random_state=int(rng.integers(100))))
    fresh = _overlap(real, coarse(2))
    assert copy["sample_overlap_baseline"] > 0.5
    assert copy["exact_match_excess"] > 0.4 and abs(fresh["exact_match_excess"]) < 0.15
