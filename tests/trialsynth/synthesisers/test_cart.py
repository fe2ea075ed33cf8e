import dataclasses

import numpy as np
import pytest

from trialsynth.plan import Roles
from trialsynth.synthesisers.cart import CartSynthesiser


def test_indicator_mode_keeps_missingness(cleaned_trial):
    data, meta = cleaned_trial
    synthesiser = CartSynthesiser(missing="indicator", random_state=1).fit(data, meta)
    synthetic = synthesiser.sample(len(data), np.random.default_rng(0))
    assert list(synthetic.columns) == list(data.columns)
    real_rate, synth_rate = data["post_test_1"].isna().mean(), synthetic["post_test_1"].isna().mean()
    assert abs(real_rate - synth_rate) < 0.06


def test_bad_parameters_are_named(cleaned_trial):
    data, meta = cleaned_trial
    with pytest.raises(ValueError, match="The 'missing' parameter of CartSynthesiser must be one of"):
        CartSynthesiser(missing="drop").fit(data, meta)
    with pytest.raises(ValueError, match="'column_order' parameter"):
        CartSynthesiser(column_order=["treatment"]).fit(data, meta)


def test_values_keep_the_real_precision(cleaned_trial):
    data, meta = cleaned_trial
    synthetic = CartSynthesiser(random_state=2).fit(data, meta).sample(300, np.random.default_rng(1))
    values = synthetic["post_test_1"].dropna()
    assert np.allclose(values, values.round(1))
    assert set(synthetic["pupil_fsm"].unique()) <= {0, 1}


@pytest.mark.parametrize("engine", ["trees", "synthpop"])
def test_both_engines_give_the_trials_shape_deterministically(cleaned_trial, engine):
    data, meta = cleaned_trial
    model = CartSynthesiser(engine=engine, random_state=4).fit(data, meta)
    a = model.sample(200, np.random.default_rng(1))
    b = CartSynthesiser(engine=engine, random_state=4).fit(data, meta).sample(200, np.random.default_rng(1))
    assert list(a.columns) == list(data.columns) and a.equals(b)
    assert model.get_params()["engine"] == engine


def test_unknown_engine_is_named(cleaned_trial):
    data, meta = cleaned_trial
    with pytest.raises(ValueError, match="The 'engine' parameter of CartSynthesiser must be one of"):
        CartSynthesiser(engine="ranger").fit(data, meta)


def _long_file():
    from trialsynth.data.cleaning import clean
    from trialsynth.data.surrogate import TrialShape, design_roles, make_trial

    shape = TrialShape(1500, 0, design="long")
    frame = make_trial(shape, 6)
    return clean(frame, Roles.of(**design_roles(frame, shape)), trial_id="t")


def test_density_smoothing_stops_copying_donors_and_keeps_point_masses():
    from trialsynth.evaluation.metrics.privacy import matches

    data, meta = _long_file()
    rng = np.random.default_rng(0)
    data["bonus"] = np.where(rng.random(len(data)) < 0.6, 0.0, np.round(rng.gamma(2, 40, len(data)), 2))
    meta = dataclasses.replace(meta, kinds={**meta.kinds, "bonus": "continuous"})
    columns = [c for c in data.columns if c != meta.cluster]
    copied = {}
    model = CartSynthesiser(random_state=1).fit(data, meta)
    draws = {"none": model.sample, "density": model.redraw}  # re-draws are smoothed by default
    for smoothing in ("none", "density"):
        synthetic = draws[smoothing](len(data), np.random.default_rng(2))
        copied[smoothing] = int(matches(data, synthetic, columns, []).exact.sum())
        zero_share = (synthetic["bonus"] == 0).mean()
        assert abs(zero_share - (data["bonus"] == 0).mean()) < 0.05, smoothing  # the point mass stays
        assert synthetic["score"].dropna().between(data["score"].min(), data["score"].max()).all()
        assert (synthetic["score"].dropna().round(1) == synthetic["score"].dropna()).all()
    assert copied["none"] > 0.4 * len(data)  # leaf donors copy whole real rows
    assert copied["density"] < 0.5 * copied["none"]


def test_unknown_smoothing_is_named(cleaned_trial):
    data, meta = cleaned_trial
    with pytest.raises(ValueError, match="'smoothing' parameter of CartSynthesiser"):
        CartSynthesiser(smoothing="kernel").fit(data, meta)
