"""The release gate: replicated uniques found in one canonical form per column, re-drawn with
every round recorded, blocked when they cannot be re-drawn; shared combinations never block."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trialsynth.data.cleaning import Cleaned
from trialsynth.disclosure import uniques
from trialsynth.errors import ReleaseBlockedError
from trialsynth.evaluation.metrics import privacy
from trialsynth.evaluation.metrics.privacy import matches
from trialsynth.meta import TrialMeta
from trialsynth.streams import Streams


def _real(n=400, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "arm": rng.integers(0, 2, n),
            "sex": rng.choice(["F", "M"], n),
            "score": np.round(rng.normal(50, 10, n), 1),  # nearly every row unique
            "band": rng.choice([1, 2, 3], n).astype(float),
        }
    )


def _meta(frame: pd.DataFrame, keys=()) -> TrialMeta:
    kinds = {"arm": "binary", "sex": "binary", "score": "continuous", "band": "categorical"}
    return TrialMeta(
        kinds={c: kinds[c] for c in frame.columns}, treatment="arm", outcomes=("score",), keys=keys
    )


class Pool:
    """A fitted model stand-in that draws rows from a fixed pool (with replacement)."""

    def __init__(self, pool: pd.DataFrame) -> None:
        self.pool = pool

    def sample(self, n: int, rng: np.random.Generator) -> pd.DataFrame:
        return self.pool.iloc[rng.integers(0, len(self.pool), n)].reset_index(drop=True)


def _gate(real, synthetic, pool, keys=()):
    cleaned = Cleaned(real, _meta(real, keys), "")
    return uniques.gate(cleaned, synthetic, Pool(pool), Streams(3).generator("redraw"))  # type: ignore[arg-type]


def _fresh(real, n, seed=9):
    other = _real(n, seed)
    other["score"] = other["score"] + 0.05  # off the real one-decimal grid: never a real value
    return other


def test_planted_unique_records_are_all_found_whatever_their_dtypes():
    real = _real()
    synthetic = _fresh(real, 300)
    planted = np.array([5, 17, 80, 120, 299])
    copies = real.iloc[[3, 50, 100, 200, 399]].reset_index(drop=True)
    copies["arm"] = copies["arm"].astype(float)  # 1 vs 1.0
    copies["band"] = copies["band"].astype(int).astype(str)  # 2.0 vs "2"
    synthetic = synthetic.astype({"arm": float, "band": object})
    synthetic.loc[planted] = copies.set_axis(planted).to_numpy()
    found = matches(real, synthetic, list(real.columns), [])
    assert np.flatnonzero(found.replicated).tolist() == planted.tolist()
    assert np.flatnonzero(found.exact).tolist() == planted.tolist()


def test_combinations_many_real_rows_share_do_not_block():
    real = _real()[["arm", "sex", "band"]]  # 12 combinations, ~33 rows each: none unique
    synthetic = real.sample(frac=1, random_state=2).reset_index(drop=True)
    gate, released = _gate(real, synthetic, synthetic)
    assert gate.exact_matches == len(synthetic) and gate.replicated_initial == 0
    assert gate.released and released is synthetic and gate.redrawn == ()


def _uniques(real: pd.DataFrame) -> pd.DataFrame:
    return real[~real.duplicated(keep=False)].reset_index(drop=True)


def test_replicated_uniques_are_redrawn_and_recorded():
    real = _real()
    synthetic = pd.concat([_fresh(real, 290), _uniques(real).iloc[:10]], ignore_index=True)
    gate, released = _gate(real, synthetic, _fresh(real, 500, seed=4))
    assert gate.replicated_initial == 10 and sum(gate.redrawn) == 10
    assert gate.released and gate.replicated_uniques == 0
    assert len(released) == len(synthetic)  # rows replaced, never dropped
    assert released.iloc[:290].equals(synthetic.iloc[:290])  # only flagged rows change
    record = gate.record()["disclosure"]
    assert record["replicated_uniques_initial"] == 10 and record["redrawn_per_round"] == list(gate.redrawn)


def test_a_model_that_only_copies_is_blocked():
    real = _real()
    gate, _ = _gate(real, _uniques(real), _uniques(real))
    assert not gate.released and gate.replicated_uniques > 0
    with pytest.raises(
        ReleaseBlockedError, match="reproduce a real record unique on every synthesised column"
    ):
        gate.enforce()


def test_declared_keys_define_uniqueness():
    real = _real()
    synthetic = pd.concat([_fresh(real, 290), _uniques(real).iloc[:10]], ignore_index=True)
    # on (arm, sex) nobody is unique: the copies disclose no one the keys could single out
    gate, _ = _gate(real, synthetic, synthetic, keys=("arm", "sex"))
    assert gate.exact_matches == 10 and gate.replicated_initial == 0 and gate.released


def test_a_copy_released_at_six_decimals_is_still_a_copy():
    rng = np.random.default_rng(5)
    real = pd.DataFrame({"z": rng.normal(size=200), "arm": rng.integers(0, 2, 200)})
    copies = real.iloc[:4].copy()
    copies["z"] = copies["z"].round(6)  # what restore_dtypes releases for a 15-decimal column
    found = matches(real, copies, ["z", "arm"], [])
    assert found.replicated.all()
    assert matches(pd.DataFrame({"x": [0.3]}), pd.DataFrame({"x": [0.1 + 0.2]}), ["x"], []).exact.all()


def test_a_dp_models_file_is_measured_never_redrawn_or_blocked():
    class PrivatePool(Pool):
        name = "private-pool"
        epsilon, delta = 1.0, 1e-9

        def fit(self, data, meta, *, noise=None):
            return self

        def accounting(self):
            return ""

        def privacy_spent(self):
            return {"epsilon": 1.0, "delta": 1e-9}

        def get_params(self):
            return {}

        def fitted_record(self):
            return {}

        @classmethod
        def params_from(cls, plan):
            return {}

    real = _real()
    synthetic = pd.concat([_fresh(real, 290), _uniques(real).iloc[:10]], ignore_index=True)
    cleaned = Cleaned(real, _meta(real), "")
    pool = PrivatePool(_fresh(real, 500, seed=4))
    decision, released = uniques.gate(cleaned, synthetic, pool, Streams(3).generator("redraw"))  # type: ignore[arg-type]
    assert decision.redrawn == () and not decision.resampled and decision.replicated_uniques == 10
    assert not decision.enforced and decision.released and released is synthetic  # released as drawn
    assert decision.metrics()["replicated_uniques"] == 10
    assert decision.record()["disclosure"]["enforced"] is False
    assert "not enforced: the method is differentially private" in decision.reason


def test_a_file_over_a_risk_limit_is_blocked_with_the_measure_named():
    from trialsynth.disclosure.risk import check_risks
    from trialsynth.synthesisers.cart import CartSynthesiser
    from trialsynth.synthesisers.mst import MstSynthesiser

    limits = (("dcr_share", 0.65), ("linkability_risk", 0.1), ("singling_out_risk", 0.5))
    risky = {
        "dcr_share": 0.9,
        "dcr_share_low": 0.85,
        "linkability_risk": 0.3,  # over its limit, but not with 95% confidence
        "linkability_risk_low": 0.05,
        "singling_out_risk": None,
    }
    gate = check_risks(risky, limits, CartSynthesiser())
    assert not gate.released
    assert gate.exceeded == [
        "dcr_share 0.9 (95% interval from 0.85) > 0.65",
        "linkability_risk 0.3 (95% interval from 0.05) > 0.1",  # the point value decides
        "singling_out_risk unmeasured (too few held-out rows; raise holdout_share)",
    ]
    with pytest.raises(ReleaseBlockedError, match="dcr_share 0.9"):
        gate.enforce()
    assert gate.record()["disclosure"]["risks_unmeasured"] == ["singling_out_risk"]
    fine = {"dcr_share": 0.6, "linkability_risk": 0.02, "singling_out_risk": 0.1}
    assert check_risks(fine, limits, CartSynthesiser()).released
    off = (("dcr_share", 0.65), ("singling_out_risk", 1.0))  # a limit of 1 turns a measure off
    assert check_risks({"dcr_share": 0.5, "singling_out_risk": None}, off, CartSynthesiser()).released
    private = check_risks(risky, limits, MstSynthesiser(epsilon=1.0))
    assert private.released and private.exceeded and not private.record()["disclosure"]["risks_enforced"]


def test_pupils_re_drawn_by_a_method_of_new_schools_stay_in_their_school_and_arm(cleaned_trial):
    from trialsynth.synthesisers.cart import CartSynthesiser

    data, meta = cleaned_trial
    model = CartSynthesiser(random_state=2).fit(data, meta)
    synthetic = model.sample(len(data), np.random.default_rng(3))
    planted = synthetic.copy()
    columns = [c for c in data.columns if c != meta.cluster]
    planted.loc[:19, columns] = data.loc[:19, columns].to_numpy()  # copies of real records
    assert matches(data, planted, columns, []).replicated.sum() >= 15
    gate, released = uniques.check_release(data, planted, meta, model, np.random.default_rng(4))
    assert gate.replicated_initial >= 15 and gate.replicated_uniques == 0 and gate.redrawn
    assert released[meta.cluster].tolist() == planted[meta.cluster].tolist()
    redrawn = (released[columns].astype(str) != planted[columns].astype(str)).any(axis=1).to_numpy()
    assert redrawn.sum() >= gate.replicated_initial
    # schools were randomised: a re-drawn pupil takes its school's arm
    assert released.loc[redrawn, meta.treatment].tolist() == synthetic.loc[redrawn, meta.treatment].tolist()


def _long_coarse(pupils=300, seed=0):
    """Three waves a pupil of coarse values: rows shared by many pupils, most pupils' sets of
    rows unique."""
    rng = np.random.default_rng(seed)
    rows = [
        (f"p{p}", arm, sex, wave, int(rng.integers(1, 9)))
        for p, arm, sex in zip(
            range(pupils), rng.integers(0, 2, pupils), rng.choice(["F", "M"], pupils), strict=True
        )
        for wave in (1, 2, 3)
    ]
    frame = pd.DataFrame(rows, columns=["pupil", "arm", "sex", "wave", "band"])
    kinds = {"arm": "binary", "sex": "binary", "wave": "categorical", "band": "categorical"}
    meta = TrialMeta(kinds=kinds, treatment="arm", outcomes=("band",))
    return frame.drop(columns="pupil"), meta, frame["pupil"].to_numpy()


def test_a_long_format_pupil_reproduced_whole_is_re_drawn():
    from trialsynth.synthesisers.cart import CartSynthesiser

    data, meta, units = _long_coarse()
    columns = list(data.columns)
    model = CartSynthesiser(random_state=0).fit(data, meta, units=units)
    synthetic = model.sample(len(data), np.random.default_rng(1))
    drawn = model.drawn_units()
    sets = pd.Series(units).map(
        data.astype(str).agg("|".join, axis=1).groupby(units).agg(lambda k: ",".join(sorted(k)))
    )
    unique = sets.map(sets.value_counts()) == 3  # a set no other pupil has (3 rows each)
    real_pupil = units[unique.to_numpy()][0]
    whole = np.flatnonzero(np.bincount(drawn) == 3)[0]  # a synthetic pupil of three rows
    planted = synthetic.copy()
    planted.loc[drawn == whole, columns] = data.loc[units == real_pupil, columns].to_numpy()
    units_pair = (units, drawn)
    assert privacy.replicated_pupils(data, planted, columns, units_pair)[drawn == whole].all()
    gate, released = uniques.check_release(data, planted, meta, model, np.random.default_rng(2), units)
    first, left = gate.pupils
    assert first >= 1 and left == 0 and gate.released
    assert not privacy.replicated_pupils(data, released, columns, units_pair).any()
    assert (released.loc[drawn == whole, "wave"] != planted.loc[drawn == whole, "wave"]).sum() == 0
    assert gate.record()["disclosure"]["pupils_replicated_initial"] == first


def test_a_pupil_of_one_row_is_the_row_gates_and_a_shared_set_discloses_no_one():
    real = pd.DataFrame({"band": [1, 1, 2, 2, 3]})
    units = np.array(["a", "a", "b", "b", "c"])
    synth = pd.DataFrame({"band": [1, 1, 3, 2, 2]})
    found = privacy.replicated_pupils(real, synth, ["band"], (units, np.array([0, 0, 1, 2, 2])))
    assert found.tolist() == [True, True, False, True, True]
    shared = pd.DataFrame({"band": [1, 1, 1, 1]})
    both = np.array(["a", "a", "b", "b"])
    assert not privacy.replicated_pupils(shared, shared, ["band"], (both, both)).any()
