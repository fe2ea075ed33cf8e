"""Every registered synthesiser honours the contract in ``trialsynth/synthesisers/base.py``, and
every capability it claims."""

import dataclasses
import json
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trialsynth.data.surrogate import public_bounds
from trialsynth.dp.domain import draft_domain
from trialsynth.dp.noise import PublicNoise
from trialsynth.errors import MethodNotAvailableError
from trialsynth.outputs import clear_outputs
from trialsynth.plan import Policy, Roles, TrialPlan
from trialsynth.synthesisers import (
    SYNTHESISERS,
    DifferentiallyPrivate,
    FromReleasedOutputs,
    Redraws,
    capabilities_of,
    get_synthesiser,
    synthesiser_class,
)
from trialsynth.synthesisers.base import is_tunable

FAST = {
    "mst": {"epsilon": 5.0, "iterations": 200, "n_bins": 16},
    "aim": {
        "epsilon": 5.0,
        "n_bins": 8,
        "rounds_per_column": 1,
        "max_rounds": 4,
        "round_iterations": 20,
        "final_iterations": 150,
    },
    "ea": {"generations": 60},
    # synthcity's generators (the comparator environment): a few epochs of small networks
    "gan": {"settings": {"n_iter": 3, "generator_n_units_hidden": 32, "discriminator_n_units_hidden": 32}},
    "ctgan": {"settings": {"n_iter": 3, "generator_n_units_hidden": 32, "discriminator_n_units_hidden": 32}},
    "pategan": {"settings": {"n_iter": 2, "n_teachers": 3, "generator_n_units_hidden": 32}},
}
CLAIMS = {
    "cart": {"redraws", "models_schools", "models_units"},
    "mst": {"differentially_private", "tunable"},
    "aim": {"differentially_private"},
    "ea": {"from_released_outputs"},
    "gan": set(),
    "pategan": set(),
    "ctgan": set(),
}
COMPARATORS = ("gan", "pategan", "ctgan")


def _plan(data, epsilon=None) -> TrialPlan:
    return TrialPlan(
        archive="a",
        trial_id="t",
        roles=Roles(treatment="treatment", outcomes=("post_test_1", "post_test_2"), cluster="school_id"),
        seed=5,
        data_path=Path("t.csv"),
        epsilon=epsilon,
        bounds=public_bounds(data.columns),
        policy=Policy(ea_generations=60),
    )


def _fit(synthesiser, data, meta):
    if isinstance(synthesiser, DifferentiallyPrivate):  # generated data: its domain is public
        domain = draft_domain(data, meta.kinds, public_bounds(data.columns))
        noise = PublicNoise(np.random.default_rng(50))
        return synthesiser.fit(data, dataclasses.replace(meta, domain=domain), noise=noise)
    return synthesiser.fit(data, meta)


@pytest.fixture(scope="module", params=sorted(SYNTHESISERS))
def fitted(request, cleaned_trial):
    data, meta = cleaned_trial
    if request.param in COMPARATORS:
        request.getfixturevalue("comparator_env")  # skips (or, in CI, fails) without it
    cls = synthesiser_class(request.param)
    params = {**cls.params_from(_plan(data)), **FAST.get(request.param, {}), "random_state": 5}
    synthesiser = cls(**params)
    assert _fit(synthesiser, data, meta) is synthesiser
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


def test_same_generator_same_rows(fitted):
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


def test_params_round_trip_and_are_recordable(fitted):
    """``get_params`` holds every constructor parameter (a fitted attribute is not one): the
    method rebuilds from them, and they and ``fitted_record`` are JSON for the catalogue."""
    synthesiser, _, _ = fitted
    params = synthesiser.get_params()
    rebuilt = type(synthesiser)(**params)
    assert rebuilt.get_params() == params
    assert params["random_state"] == 5
    for name, value in FAST.get(synthesiser.name, {}).items():
        assert params[name] == value
    assert not [k for k in params if k.endswith("_")]
    json.dumps(params)
    json.dumps(synthesiser.fitted_record())  # strictly JSON, as the catalogue stores it


@pytest.mark.parametrize("name", sorted(SYNTHESISERS))
def test_params_from_a_plan_are_constructor_parameters(name, cleaned_trial):
    data, _ = cleaned_trial
    cls = synthesiser_class(name)
    params = cls.params_from(_plan(data, epsilon=0.3))
    assert set(params) <= set(cls().get_params())
    as_json = lambda value: json.loads(json.dumps(value))  # noqa: E731 - the recorded form
    assert as_json(cls(**params).get_params()) == as_json({**cls().get_params(), **params})


@pytest.mark.parametrize("name", sorted(SYNTHESISERS))
def test_capabilities_are_the_ones_claimed(name):
    cls = synthesiser_class(name)
    assert set(capabilities_of(cls)) == CLAIMS[name]
    assert is_tunable(cls) == ("tunable" in CLAIMS[name])


def test_private_methods_account_for_what_they_spend(fitted):
    synthesiser, _, _ = fitted
    if not isinstance(synthesiser, DifferentiallyPrivate):
        pytest.skip(f"{synthesiser.name} is not differentially private")
    spent = synthesiser.privacy_spent()
    assert spent["epsilon"] == synthesiser.epsilon and spent["delta"] == synthesiser.delta
    assert f"({synthesiser.epsilon:g}, {synthesiser.delta:g})-DP" in synthesiser.accounting()
    with pytest.raises(RuntimeError, match="not fitted"):
        type(synthesiser)().privacy_spent()


def test_redraws_have_the_samples_shape_and_copy_less(fitted):
    synthesiser, data, meta = fitted
    if not isinstance(synthesiser, Redraws):
        pytest.skip(f"{synthesiser.name} re-draws with sample")
    from trialsynth.evaluation.metrics.privacy import matches

    rng = np.random.default_rng(4)
    drawn, redrawn = synthesiser.sample(len(data), rng), synthesiser.redraw(len(data), rng)
    assert list(redrawn.columns) == list(drawn.columns) and len(redrawn) == len(data)
    assert (redrawn.dtypes == drawn.dtypes).all()
    columns = [c for c in data.columns if c != meta.cluster]
    copies = [int(matches(data, frame, columns, []).exact.sum()) for frame in (drawn, redrawn)]
    assert copies[1] <= copies[0]


def test_methods_from_released_outputs_never_need_the_data(fitted):
    synthesiser, data, meta = fitted
    if not isinstance(synthesiser, FromReleasedOutputs):
        pytest.skip(f"{synthesiser.name} does not synthesise from released outputs")
    outputs = clear_outputs(data, meta)
    fresh = type(synthesiser)(**synthesiser.get_params()).fit_outputs(outputs)
    synthetic = fresh.sample(outputs.n_rows, np.random.default_rng(8))
    measured = fresh.output_metrics(synthetic)
    assert measured and all(value is not None and np.isfinite(value) for value in measured.values())
    # a known-bad file - each column shuffled on its own, so no released model holds - measures worse
    rng = np.random.default_rng(9)
    shuffled = synthetic.apply(lambda column: column.to_numpy()[rng.permutation(len(column))])
    worse = fresh.output_metrics(shuffled)
    assert all(worse[key] > measured[key] for key in measured), (measured, worse)


@pytest.mark.parametrize("name", sorted(SYNTHESISERS))
def test_tunable_methods_tune_only_what_the_plan_leaves_open(name, cleaned_trial, tmp_path):
    cls = synthesiser_class(name)
    if not is_tunable(cls):
        pytest.skip(f"{name} has nothing to tune")
    data, _ = cleaned_trial
    assert cls.tune(_plan(data, epsilon=0.5), 1000, 20, seed=1, cache_dir=tmp_path) is None


@pytest.mark.parametrize("name", sorted(SYNTHESISERS))
def test_sample_before_fit_is_an_error(name):
    with pytest.raises(RuntimeError, match="not fitted"):
        get_synthesiser(name).sample(5, np.random.default_rng(0))


def test_unregistered_method_is_not_available():
    name = f"nothing-{uuid.uuid4().hex[:6]}"
    with pytest.raises(MethodNotAvailableError, match=f"'{name}' is not available"):
        get_synthesiser(name)


@pytest.fixture(scope="module")
def three_arm_trial():
    """Three arms (effects +3 and +1.5 on the post-tests) and 10% of pupils never randomised."""
    from trialsynth.data.cleaning import clean
    from trialsynth.data.surrogate import TrialShape, design_roles, make_trial

    shape = TrialShape(3000, 15, design="three_arm", unrandomised=0.1)
    frame = make_trial(shape, 21)
    return clean(frame, Roles.of(**design_roles(frame, shape)), trial_id="t")


def _effects(frame: pd.DataFrame) -> pd.Series:
    means = frame.groupby("treatment")["post_test_1"].mean()
    return means.drop("control") - means["control"]


@pytest.mark.parametrize("method", sorted(SYNTHESISERS))
def test_every_method_keeps_k_arms_the_unrandomised_state_and_the_arm_effects(
    method, three_arm_trial, request
):
    """Every method keeps the arms and the unrandomised pupils; their shares and the arm effects
    are checked for the methods the routes use (synthcity's, fitted here for a few epochs, are
    measured in ``bench/study_comparison.py`` instead)."""
    data, meta = three_arm_trial
    if method in COMPARATORS:
        request.getfixturevalue("comparator_env")
    cls = synthesiser_class(method)
    params = {**cls.params_from(_plan(data)), **FAST.get(method, {}), "random_state": 5}
    if method in ("mst", "aim"):
        params["epsilon"] = 20.0  # the effect, not the noise, is under test here
    if method == "aim":
        params.update(n_bins=32, final_iterations=1000)  # and a converged estimate
    synthetic = _fit(cls(**params), data, meta).sample(len(data), np.random.default_rng(3))
    assert set(synthetic["treatment"].dropna()) == {"control", "programme_a", "programme_b"}
    unrandomised = synthetic["treatment"].isna().mean()
    assert 0 < unrandomised < 1  # drawn as a state of its own
    if method in COMPARATORS:  # a few epochs learn the levels, not yet their shares
        return
    assert abs(unrandomised - data["treatment"].isna().mean()) < 0.05, unrandomised
    real, synth = _effects(data), _effects(synthetic)
    assert (synth.sort_index().index == real.sort_index().index).all()
    if "from_released_outputs" not in capabilities_of(cls):  # the EA matches adjusted coefficients
        assert np.abs(synth - real).max() < 2.5, (real.to_dict(), synth.to_dict())
    assert synth["programme_a"] > synth["programme_b"] > 0  # the arms' order survives


@pytest.mark.parametrize("method", ["cart", "mst", "aim"])
def test_numeric_school_ids_are_released_as_numbers_named_alike_in_every_draw(method, cleaned_trial):
    data, meta = cleaned_trial
    data = data.copy()
    codes = {label: 4000 + 7 * i for i, label in enumerate(sorted(data[meta.cluster].unique()))}
    data[meta.cluster] = data[meta.cluster].map(codes).astype("int64")
    cls = synthesiser_class(method)
    params = {**cls.params_from(_plan(data)), **FAST.get(method, {}), "random_state": 5}
    model = _fit(cls(**params), data, meta)
    first, second = (model.sample(len(data), np.random.default_rng(seed)) for seed in (1, 2))
    assert pd.api.types.is_integer_dtype(first[meta.cluster]) and first[meta.cluster].notna().all()
    assert not set(first[meta.cluster]) & set(codes.values())  # no real id
    drawn = set(first[meta.cluster]) | set(second[meta.cluster])
    if method == "cart":  # new schools every draw, numbered 1..K (K: the real schools)
        assert drawn <= set(range(1, data[meta.cluster].nunique() + 1))
        return
    # one school, one label: the same pseudonymised school gets the same number in every draw
    assert model.school_labels_ and drawn <= set(model.school_labels_.values())
