"""MST tuning: it reads only the trial's shape and the cap, is deterministic, and is recorded."""

import pytest

from tests.conftest import public_domain, run_registered, write_archive
from trialsynth.catalogue import as_record, latest_attempts
from trialsynth.catalogue.session import make_engine, make_sessionmaker
from trialsynth.data.surrogate import TrialShape, make_trial
from trialsynth.synthesisers import mst_tuning
from trialsynth.synthesisers.mst import MstSynthesiser
from trialsynth.synthesisers.mst_tuning import EPSILON_PRICE, objective_value, tune_mst


def test_objective_weighs_the_metrics_that_decide_the_category_against_epsilon():
    """Each multivariate_detailed metric counts relative to its threshold; copies are refused."""
    base = {"feature_density_mad": 0.0025, "corr_msd": 0.0025, "f1_diff": -0.01, "min_nn_distance": 3.0}
    assert objective_value(base, 1.0) == pytest.approx(0.5 + 0.5 + 0.2 + EPSILON_PRICE)
    assert objective_value(base, 0.1) < objective_value(base, 1.0)
    assert objective_value({**base, "corr_msd": 0.02}, 0.1) > objective_value(base, 1.0)  # correlations count
    assert objective_value({**base, "min_nn_distance": 0.0}, 0.1) > 10


def test_tuning_reads_only_the_shape_and_the_cap(monkeypatch):
    seen = []

    original = MstSynthesiser.fit

    def spy(self, data, meta, **kwargs):
        seen.append((data.shape, tuple(data.columns), self.epsilon))
        return original(self, data, meta, **kwargs)

    monkeypatch.setattr(MstSynthesiser, "fit", spy)
    tune_mst.cache_clear()
    result = tune_mst(MstSynthesiser, 300, 14, epsilon_cap=0.5, seed=3, n_trials=2, max_rows=300)
    assert len(seen) == 2 and all(shape == (300, len(columns)) for shape, columns, _ in seen)
    assert all({"treatment", "post_test_1"} <= set(columns) for _, columns, _ in seen)  # the demo surrogate
    assert all(0.01 <= epsilon <= 0.5 for _, _, epsilon in seen)
    assert 0.01 <= result.epsilon <= 0.5 and result.preserve in {"primary", "all"}
    assert result.surrogate == {"rows": 300, "cols": 14, "seed": 3, "generator": "trialsynth.data.surrogate"}
    assert "public surrogate" in result.guarantee and "spends no budget" in result.guarantee
    assert len(result.trials) == 2
    tune_mst.cache_clear()
    again = tune_mst(MstSynthesiser, 300, 14, epsilon_cap=0.5, seed=3, n_trials=2, max_rows=300)
    assert (again.epsilon, again.preserve, again.iterations) == (
        result.epsilon,
        result.preserve,
        result.iterations,
    )
    assert mst_tuning.GUARANTEE == result.guarantee


def test_untuned_epsilon_is_tuned_recorded_and_reused_by_the_next_run(tmp_path, monkeypatch):
    monkeypatch.setattr(mst_tuning, "ITERATIONS", (200,))
    tune_mst.cache_clear()
    frame = make_trial(TrialShape(400, 15), 5)
    from trialsynth.data.surrogate import public_bounds

    bounds = {c: list(b) for c, b in public_bounds(frame.columns).items()}
    manifest = write_archive(
        tmp_path,
        {"big": frame},
        defaults={"mst_tuning_trials": 2, "epsilon_cap": 0.8},
        extra={"big": {"method": "mst", "bounds": bounds, "domain": public_domain(frame)}},
    )
    sessions = make_sessionmaker(make_engine(f"sqlite:///{tmp_path / 'c.db'}"))
    run_registered(manifest, "big", tmp_path, sessions)
    with sessions() as session:
        record = as_record(latest_attempts(session, ["big"])[0])
    assert record["status"] == "succeeded", record["error"]
    tuning = record["params"]["tuning"]
    assert record["epsilon"] == pytest.approx(tuning["epsilon"]) and record["epsilon"] <= 0.8
    assert record["params"]["preserve"] == tuning["preserve"] and record["params"]["iterations"] == 200
    assert "public surrogate" in tuning["guarantee"] and "guarantee" in record["params"]
    assert "tune" in record["timings"] and tuning["reused_from"] is None

    def search_again(*args, **kwargs):
        raise AssertionError("the stored tuning should have been reused")

    monkeypatch.setattr(mst_tuning, "tune_mst", search_again)  # the next run must not search
    run_registered(manifest, "big", tmp_path, sessions, force=True)  # unchanged would not even tune
    with sessions() as session:
        rerun = as_record(latest_attempts(session, ["big"])[0])
    assert rerun["status"] == "succeeded", rerun["error"]
    assert rerun["params"]["tuning"]["reused_from"].endswith(".json")
    assert rerun["epsilon"] == record["epsilon"]
    tune_mst.cache_clear()
