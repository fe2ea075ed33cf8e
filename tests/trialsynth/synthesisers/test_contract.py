"""Every registered synthesiser honours the contract in ``trialsynth/synthesisers/base.py``."""

import numpy as np
import pandas as pd
import pytest

from trialsynth.errors import MethodNotAvailableError
from trialsynth.surrogate import public_bounds
from trialsynth.synthesisers import SYNTHESISERS, get_synthesiser


def _params(name: str, data) -> dict:
    """Small, fast settings per method (the DP one needs the manifest's public bounds)."""
    if name == "mst":
        bounds = public_bounds(data.columns)
        return {"random_state": 5, "epsilon": 5.0, "iterations": 200, "n_bins": 16, "bounds": bounds}
    if name == "ea":
        return {"random_state": 5, "generations": 60}
    return {"random_state": 5}


@pytest.fixture(scope="module", params=sorted(SYNTHESISERS))
def fitted(request, cleaned_trial):
    data, meta = cleaned_trial
    synthesiser = get_synthesiser(request.param, **_params(request.param, data))
    assert synthesiser.fit(data, meta) is synthesiser
    return synthesiser, data, meta


def test_sample_has_the_trials_columns_and_dtypes(fitted):
    synthesiser, data, _ = fitted
    synthetic = synthesiser.sample(len(data), np.random.default_rng(1))
    assert list(synthetic.columns) == list(data.columns)
    assert len(synthetic) == len(data)
    for name in data.columns:
        assert pd.api.types.is_numeric_dtype(synthetic[name]) == pd.api.types.is_numeric_dtype(data[name]), (
            name
        )


def test_sample_any_size(fitted):
    synthesiser, _, _ = fitted
    assert len(synthesiser.sample(37, np.random.default_rng(2))) == 37


def test_same_seed_same_rows(fitted):
    synthesiser, data, _ = fitted
    a = synthesiser.sample(200, np.random.default_rng(3))
    b = synthesiser.sample(200, np.random.default_rng(3))
    c = synthesiser.sample(200, np.random.default_rng(4))
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)


def test_missingness_and_categories_survive(fitted):
    synthesiser, data, meta = fitted
    synthetic = synthesiser.sample(len(data), np.random.default_rng(6))
    for name in data.columns:
        if data[name].isna().mean() > 0.05:
            assert synthetic[name].isna().any(), name
    for name in meta.of_kind("categorical", "binary"):
        if name != meta.cluster:
            assert set(synthetic[name].dropna().unique()) <= set(data[name].dropna().unique()), name


def test_cluster_ids_are_never_real(fitted):
    synthesiser, data, meta = fitted
    synthetic = synthesiser.sample(len(data), np.random.default_rng(7))
    assert not set(synthetic[meta.cluster]) & set(data[meta.cluster])
    assert synthetic[meta.cluster].str.fullmatch(r"school-\d+").all()


def test_params_are_recorded(fitted):
    synthesiser, _, _ = fitted
    params = synthesiser.get_params()
    assert params["random_state"] == 5


@pytest.mark.parametrize("name", sorted(SYNTHESISERS))
def test_sample_before_fit_is_an_error(name):
    with pytest.raises(RuntimeError, match="not fitted"):
        get_synthesiser(name).sample(5, np.random.default_rng(0))


def test_unregistered_method_is_not_available():
    with pytest.raises(MethodNotAvailableError, match="'gan' is not available"):
        get_synthesiser("gan")
