"""The holdout: which rows are kept from the synthesiser, and that the fit never sees them."""

import numpy as np
import pandas as pd
import pytest

from tests.conftest import NO_RISK_LIMITS, run_registered, write_archive
from trialsynth.catalogue import as_record, latest_attempts
from trialsynth.catalogue.session import make_engine, make_sessionmaker
from trialsynth.evaluation.holdout import hold_out, holdout_mask
from trialsynth.synthesisers.cart import CartSynthesiser


def test_the_share_is_held_out_at_random_and_reproducibly():
    mask = holdout_mask(1000, 0.2, np.random.default_rng(4))
    assert mask.sum() == 200 and mask.dtype == bool
    assert np.array_equal(mask, holdout_mask(1000, 0.2, np.random.default_rng(4)))
    assert not np.array_equal(mask, holdout_mask(1000, 0.2, np.random.default_rng(5)))
    assert 0.1 < mask[:500].mean() < 0.3  # spread over the file, not its head or tail


def test_no_holdout_when_either_side_would_be_too_small_or_the_share_is_zero():
    assert not holdout_mask(1000, 0.0, np.random.default_rng(1)).any()
    assert not holdout_mask(5, 0.2, np.random.default_rng(1)).any()  # one row held out: none
    with pytest.raises(ValueError, match="holdout share"):
        holdout_mask(100, 1.0, np.random.default_rng(1))


def test_the_fit_never_sees_the_held_out_rows(tmp_path, raw_trial, monkeypatch):
    seen: list[pd.DataFrame] = []
    original = CartSynthesiser.fit

    def spy(self, data, meta):
        seen.append(data.copy())
        return original(self, data, meta)

    monkeypatch.setattr(CartSynthesiser, "fit", spy)
    sessions = make_sessionmaker(make_engine(f"sqlite:///{tmp_path / 'catalogue.db'}"))
    manifest = write_archive(
        tmp_path,
        {"mid": raw_trial},
        defaults={"small_threshold": 300, "holdout_share": 0.25},
        # lifted: CART on a few hundred rows is over the default risk limits; this test needs
        # the file released to check something else
        risk_limits=NO_RISK_LIMITS,
    )
    outcome = run_registered(manifest, "mid", tmp_path, sessions)
    assert outcome.status == "succeeded", outcome.error
    with sessions() as session:
        record = as_record(latest_attempts(session, ["mid"])[0])
    held = record["lineage"]["holdout"]
    assert held == {
        "share": 0.25,
        "rows": 200,
        "fitted_rows": 600,
        "seen_by_synthesiser": False,
        "unit": "row",
    }
    assert len(seen) == 1 and len(seen[0]) == 600
    assert len(pd.read_csv(record["output_path"])) == 800  # as many synthetic rows as the trial has
    # the fitted rows are real rows, and 200 real rows are not among them
    key = ["pre_test_1", "post_test_1"]
    fitted = seen[0][key].round(6).apply(tuple, axis=1)
    real = raw_trial[key].round(6).apply(tuple, axis=1)
    assert fitted.isin(set(real)).all() and (~real.isin(set(fitted))).sum() >= 190


def test_a_private_fit_and_its_domain_estimate_see_only_the_training_rows(tmp_path, raw_trial, monkeypatch):
    from tests.conftest import public_domain
    from trialsynth.data.surrogate import public_bounds
    from trialsynth.synthesisers.mst import MstSynthesiser

    seen: list[int] = []
    original = MstSynthesiser.fit

    def spy(self, data, meta, *, noise=None):
        seen.append(len(data))
        return original(self, data, meta, noise=noise)

    monkeypatch.setattr(MstSynthesiser, "fit", spy)
    sessions = make_sessionmaker(make_engine(f"sqlite:///{tmp_path / 'catalogue.db'}"))
    bounds = {c: list(b) for c, b in public_bounds(raw_trial.columns).items()}
    extra = {"dp": {"method": "mst", "epsilon": 0.5, "bounds": bounds, "domain": public_domain(raw_trial)}}
    manifest = write_archive(tmp_path, {"dp": raw_trial}, defaults={"small_threshold": 300}, extra=extra)
    outcome = run_registered(manifest, "dp", tmp_path, sessions)
    assert outcome.status == "succeeded", outcome.error
    assert seen == [640]  # 800 rows, 20% held out: the mechanism (and any DP estimate) reads 640
    with sessions() as session:
        record = as_record(latest_attempts(session, ["dp"])[0])
    assert record["lineage"]["holdout"]["fitted_rows"] == 640


def test_a_method_that_synthesises_from_cleared_outputs_sees_every_row(tmp_path, raw_trial, monkeypatch):
    from trialsynth.synthesisers.ea import EaSynthesiser

    seen: list[int] = []
    original = EaSynthesiser.fit

    def spy(self, data, meta):
        seen.append(len(data))
        return original(self, data, meta)

    monkeypatch.setattr(EaSynthesiser, "fit", spy)
    sessions = make_sessionmaker(make_engine(f"sqlite:///{tmp_path / 'catalogue.db'}"))
    manifest = write_archive(tmp_path, {"small": raw_trial}, defaults={"ea_generations": 20})
    outcome = run_registered(manifest, "small", tmp_path, sessions)
    assert outcome.status == "succeeded", outcome.error
    with sessions() as session:
        record = as_record(latest_attempts(session, ["small"])[0])
    assert seen == [800] and record["lineage"]["holdout"]["seen_by_synthesiser"] is True


def test_a_long_format_file_holds_out_whole_pupils():
    units = np.repeat(np.arange(500), 3)  # 500 pupils x 3 waves
    held = hold_out(len(units), 0.2, np.random.default_rng(0), seen_by_synthesiser=False, units=units)
    per_pupil = pd.Series(held.mask).groupby(units).agg(["min", "max"])
    assert (per_pupil["min"] == per_pupil["max"]).all()  # every row of a pupil on one side
    assert held.mask.sum() == 3 * 100 and held.by_unit
    assert held.record()["lineage"]["holdout"]["unit"].startswith("pupil")
    by_rows = hold_out(len(units), 0.2, np.random.default_rng(0), seen_by_synthesiser=False)
    split = pd.Series(by_rows.mask).groupby(units).nunique()
    assert (split > 1).any()  # the known-bad split: a held-out row's pupil was fitted
