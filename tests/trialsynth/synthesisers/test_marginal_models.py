import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from trialsynth.data.cleaning import clean
from trialsynth.domain import ColumnDomain, PublicDomain
from trialsynth.dp.noise import PublicNoise
from trialsynth.dp.stored import StoredMeasurements
from trialsynth.plan import Roles
from trialsynth.synthesisers.aim import AimSynthesiser
from trialsynth.synthesisers.discretise import encode
from trialsynth.synthesisers.mst import MstSynthesiser

DOMAIN = PublicDomain(
    (
        ColumnDomain("arm", levels=(0, 1), missing=False),
        ColumnDomain("school", levels=tuple(range(6)), missing=False),
        ColumnDomain("band", levels=("a", "b", "c", "z"), missing=False),  # "z": no pupil has it
        ColumnDomain("pre_score", bounds=(0.0, 10.0), missing=False, decimals=1),
        ColumnDomain("post_score", bounds=(0.0, 20.0), missing=True, decimals=1),
    )
)
METHODS = {
    "mst": lambda: MstSynthesiser(epsilon=4.0, iterations=150, n_bins=8),
    "aim": lambda: AimSynthesiser(
        epsilon=4.0, n_bins=8, rounds_per_column=1, max_rounds=2, round_iterations=20, final_iterations=150
    ),
}


@pytest.fixture(scope="module")
def trial():
    rng = np.random.default_rng(3)
    n = 800
    arm = rng.integers(0, 2, n)
    pre = np.round(rng.uniform(0, 10, n), 1)
    post = np.round(np.clip(pre + 5 * arm + rng.normal(0, 1, n), 0, 20), 1)
    post[rng.random(n) < 0.1] = np.nan
    frame = pd.DataFrame(
        {
            "arm": arm,
            "school": rng.integers(0, 6, n),
            "band": rng.choice(["a", "b", "c"], n, p=[0.6, 0.3, 0.1]),
            "pre_score": pre,
            "post_score": post,
        }
    )
    roles = Roles.of(treatment="arm", outcomes=["post_score"], cluster="school")
    data, meta = clean(frame, roles, trial_id="t")
    return data, dataclasses.replace(meta, domain=DOMAIN)


@pytest.fixture(scope="module", params=sorted(METHODS))
def fitted(request, trial):
    data, meta = trial
    model = METHODS[request.param]().fit(data, meta, noise=PublicNoise(np.random.default_rng(5)))
    stored = StoredMeasurements.from_json(json.loads(json.dumps(model.stored("k" * 64).to_json())))
    return model, stored


def test_stored_measurements_hold_noise_never_a_real_count(trial, fitted):
    """An adversary who reads the file learns noisy counts only: no stored vector equals the real
    marginal it measured, and every one differs from it by about its noise scale."""
    data, meta = trial
    model, stored = fitted
    codes = encode(data[model.scheme_.keys()], model.scheme_)
    assert stored.n == len(data) and stored.key == "k" * 64
    for m in stored.measurements:
        if m.compressed:
            small = {c: model.mapping_[c][codes[c]] for c in m.clique}
            shape = [int(model.mapping_[c].max()) + 1 for c in m.clique]
        else:
            small = {c: codes[c] for c in m.clique}
            shape = [model.scheme_[c].size for c in m.clique]
        keys = np.ravel_multi_index(tuple(small[c] for c in m.clique), shape)
        truth = np.bincount(keys, minlength=int(np.prod(shape)))
        noisy = np.asarray(m.noisy)
        if not m.compressed or len(m.clique) > 1:  # a compressed one-way count is rescaled by mbi
            assert not np.array_equal(noisy, truth), m.clique
            assert 0.2 * m.sigma < np.abs(noisy - truth).mean() < 3 * m.sigma, m.clique


def test_a_release_from_stored_measurements_is_the_same_model(trial, fitted):
    """Estimated again from what was stored - no row, no noise - the model gives the same
    marginals and the release states the same guarantee and spend."""
    data, meta = trial
    model, stored = fitted
    again = type(model)(**model.get_params()).fit_stored(stored, meta)
    assert again.accounting() == model.accounting()
    assert again.privacy_spent() == model.privacy_spent()
    assert again.budget_ == model.budget_
    for column in ("arm", "band", "post_score"):
        a = np.asarray(model.model_.project((column,)).datavector())
        b = np.asarray(again.model_.project((column,)).datavector())
        assert np.abs(a - b).sum() < 0.02 * len(data), column
    synthetic = again.sample(len(data), np.random.default_rng(1))
    assert list(synthetic.columns) == list(data.columns)
    assert (synthetic.dtypes == data.dtypes).all()
    effect = synthetic.groupby("arm")["post_score"].mean().diff().iloc[-1]
    assert abs(effect - 5) < 1.5


def test_stored_measurements_are_refused_by_another_method(trial, fitted):
    _, meta = trial
    model, stored = fitted
    other = MstSynthesiser() if model.name == "aim" else AimSynthesiser()
    with pytest.raises(ValueError, match="measured by"):
        other.fit_stored(stored, meta)


def test_schools_too_small_for_the_noise_are_formed_from_the_drawn_rows():
    """60 schools of 20 pupils, randomised by school: the noisy counts merge the schools, so the
    release forms new ones - each one arm and one value of its school-level covariate."""
    rng = np.random.default_rng(8)
    schools = np.repeat(np.arange(60), 20)
    context = np.repeat(np.round(rng.normal(0, 1, 60), 2), 20)
    arm = np.repeat(rng.permutation(np.r_[np.zeros(30), np.ones(30)]).astype(int), 20)
    frame = pd.DataFrame(
        {
            "arm": arm,
            "school": schools,
            "context": context,
            "score": np.round(np.clip(5 + 2 * context + arm + rng.normal(0, 1, 1200), 0, 10), 1),
        }
    )
    domain = PublicDomain(
        (
            ColumnDomain("arm", levels=(0, 1), missing=False),
            ColumnDomain("school", levels=tuple(range(60)), missing=False),
            ColumnDomain("context", bounds=(-4.0, 4.0), missing=False, decimals=2),
            ColumnDomain("score", bounds=(0.0, 10.0), missing=False, decimals=1),
        )
    )
    roles = Roles.of(treatment="arm", outcomes=["score"], cluster="school")
    data, meta = clean(frame, roles, trial_id="t")
    meta = dataclasses.replace(meta, domain=domain)
    model = MstSynthesiser(epsilon=1.0, iterations=100, school_covariates=("context",), randomised="school")
    model.fit(data, meta, noise=PublicNoise(np.random.default_rng(2)))
    assert model.mapping_["school"].max() + 1 < 30  # the model tells few schools apart
    synthetic = model.sample(len(data), np.random.default_rng(3))
    per_school = synthetic.groupby("school")[["arm", "context"]].nunique()
    assert (per_school == 1).all().all() and len(per_school) == 60
    assert synthetic["school"].notna().all()
    plain = MstSynthesiser(epsilon=1.0, iterations=100).fit(
        data, meta, noise=PublicNoise(np.random.default_rng(2))
    )
    mixed = plain.sample(len(data), np.random.default_rng(3)).groupby("school")["arm"].nunique()
    assert (mixed == 2).mean() > 0.5  # not declared: schools mix the arms


def test_atoms_are_stored_and_a_release_from_them_decodes_to_them(trial):
    """A score that takes four values (200 pupils each): AIM selects them as atoms (``dp.atoms``),
    decodes to them instead of uniform values within the bins, and a release from the stored
    measurements - no row read - keeps them."""
    data, meta = trial
    lattice = data.assign(pre_score=np.resize([1.5, 3.0, 6.5, 8.0], len(data)))
    model = METHODS["aim"]().fit(lattice, meta, noise=PublicNoise(np.random.default_rng(5)))
    assert model.prepared_.atoms["pre_score"].values == (1.5, 3.0, 6.5, 8.0)
    assert "post_score" not in model.prepared_.atoms  # 200 values of a few pupils each
    stored = StoredMeasurements.from_json(json.loads(json.dumps(model.stored("k" * 64).to_json())))
    again = AimSynthesiser(**model.get_params()).fit_stored(stored, meta)
    assert again.prepared_.atoms == model.prepared_.atoms
    assert again.budget_.parts["atoms"] == model.budget_.parts["atoms"] > 0
    for fitted in (model, again):
        drawn = fitted.sample(len(data), np.random.default_rng(1))["pre_score"]
        assert drawn.isin([1.5, 3.0, 6.5, 8.0]).mean() > 0.99
