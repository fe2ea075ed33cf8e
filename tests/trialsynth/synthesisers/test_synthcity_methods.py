"""synthcity's generators behind the synthesiser contract. Without the comparator environment a
fit fails with the command that builds it; with it (tests marked ``comparators``), a real DP-GAN
and CTGAN fit and draw, and missing values survive hyperimpute's filling."""

import numpy as np
import pandas as pd
import pytest

from tests.conftest import clean_demo
from trialsynth.data.surrogate import TrialShape, make_trial
from trialsynth.errors import MethodNotAvailableError
from trialsynth.synthesisers import capabilities_of, get_synthesiser, is_private
from trialsynth.synthesisers.synthcity_methods import GanSynthesiser

TINY = {"n_iter": 3, "batch_size": 200, "generator_n_units_hidden": 32, "discriminator_n_units_hidden": 32}


def test_synthcity_methods_claim_no_dp_guarantee():
    """synthcity fits its encoder on real rows without noise: the file is not DP end to end, so
    the pipeline must gate it like CART and charge nothing."""
    for name in ("gan", "pategan", "ctgan"):
        assert "differentially_private" not in capabilities_of(get_synthesiser(name))
        assert not is_private(name)


def test_a_fit_without_the_environment_names_the_command_that_builds_it(cleaned_trial, monkeypatch):
    monkeypatch.delenv("TRIALSYNTH_COMPARATORS_ENV", raising=False)
    data, meta = cleaned_trial
    with pytest.raises(MethodNotAvailableError, match="trialsynth env create comparators"):
        GanSynthesiser().fit(data, meta)


def test_the_dp_generators_take_the_trials_epsilon_as_their_target():
    gan = GanSynthesiser(epsilon=0.5, settings={"n_iter": 7})
    params = gan.plugin_params()
    assert params["epsilon"] == 0.5 and params["n_iter"] == 7
    assert params["n_iter_print"] > params["n_iter"]  # no patience checks on real rows
    assert "epsilon" not in get_synthesiser("ctgan").plugin_params()


def test_an_unknown_imputer_is_refused(cleaned_trial):
    data, meta = cleaned_trial
    with pytest.raises(ValueError, match="'impute' parameter"):
        GanSynthesiser(impute="mean").fit(data, meta)


@pytest.mark.comparators
@pytest.mark.parametrize("name", ["gan", "ctgan"])
def test_a_real_generator_fits_and_draws_the_trials_columns(comparator_env, name):
    frame = make_trial(TrialShape(400, 15), 3)
    data, meta = clean_demo(frame)
    assert data.isna().any().any()  # the trial has missing values to impute
    synthesiser = get_synthesiser(name, settings=TINY, time_limit_s=600, random_state=1)
    synthesiser.fit(data, meta)
    synthetic = synthesiser.sample(250, np.random.default_rng(0))
    assert list(synthetic.columns) == list(data.columns) and len(synthetic) == 250
    assert [str(t) for t in synthetic.dtypes] == [str(t) for t in data.dtypes]
    for column in meta.of_kind("categorical"):  # every drawn category is a real level (or missing)
        if column != meta.cluster:
            assert set(synthetic[column].dropna()) <= set(data[column].dropna())
    assert not set(synthetic[meta.cluster]) & set(data[meta.cluster])  # schools never by their real ids
    with_na = [c for c in data.columns if data[c].isna().any() and pd.api.types.is_numeric_dtype(data[c])]
    assert synthetic[with_na].isna().any().any()  # missingness drawn, not imputed away
    record = synthesiser.fitted_record()
    assert record["imputation"]["imputer"] == "hyperimpute" and record["imputation"]["cells"] > 0
    assert record["environment"]["synthcity"] == "0.2.12"
    assert ("nominal_dp" in record) == (name == "gan")
    if name == "gan":
        assert record["nominal_dp"]["epsilon"] == 1.0 and record["nominal_dp"]["delta"] == pytest.approx(
            1 / 400, rel=0.2
        )
