"""The EA: it converges on a small problem, is deterministic, and reads released outputs only."""

import numpy as np
import pandas as pd
import pytest

from trialsynth.meta import TrialMeta
from trialsynth.outputs import ModelOutput, ReleasedOutputs, clear_outputs, combine_outputs
from trialsynth.outputs.released import VariableOutput
from trialsynth.synthesisers.ea import EaSynthesiser
from trialsynth.synthesisers.ea_search import EaSearch, EaSettings, mutation_rate_at


def _logistic_trial(n=2000, seed=0):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "treatment": rng.integers(0, 2, n),
            "area": rng.choice(["north", "south", "east"], n, p=[0.5, 0.3, 0.2]),
            "age": rng.integers(18, 80, n).astype(float),
        }
    )
    eta = (
        -1.0 + 0.6 * frame["treatment"] + np.where(frame["area"] == "south", -0.5, 0.3) + 0.02 * frame["age"]
    )
    frame["owns"] = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(int)
    meta = TrialMeta(
        kinds={"treatment": "binary", "area": "categorical", "age": "continuous", "owns": "binary"},
        treatment="treatment",
        outcomes=("owns",),
    )
    return frame, meta


@pytest.fixture(scope="module")
def released():
    frame, meta = _logistic_trial()
    return clear_outputs(frame, meta)


def test_converges_on_a_small_problem(released):
    fast = EaSynthesiser(random_state=1, generations=300, init="marginals").fit_outputs(released)
    history = fast.search_.history
    assert history[-1]["coef_mae"] < 0.5 * history[0]["coef_mae"]  # from independent marginals
    warm = EaSynthesiser(random_state=1, generations=150).fit_outputs(released)
    synthetic = warm.sample(released.n_rows, np.random.default_rng(0))
    assert warm.coef_mae(synthetic) < 0.02  # the released file itself reproduces the coefficients
    assert warm.coef_mae(synthetic) == pytest.approx(warm.search_.coef_mae, abs=1e-9)


def test_incremental_scores_equal_scores_from_scratch(released):
    search = EaSearch(released, EaSettings(generations=40, crossover_rate=0.9))
    search.run(np.random.default_rng(3))
    population = search.population_
    for k, group in enumerate(search.groups):
        for i in range(len(population.fitness)):
            codes, values = population.codes[i], population.values[i]
            fresh = group.score(codes, values, group.residual(codes, values))
            assert np.allclose(population.scores[k][i], fresh, atol=1e-6)
    fresh_counts = np.stack([search._counts(c) for c in population.codes])
    assert (population.counts == fresh_counts).all()


def test_same_seed_same_dataset_and_another_seed_another(released):
    a = EaSynthesiser(random_state=7, generations=30).fit_outputs(released)
    b = EaSynthesiser(random_state=7, generations=30).fit_outputs(released)
    c = EaSynthesiser(random_state=8, generations=30).fit_outputs(released)
    assert (a.search_.codes == b.search_.codes).all() and (a.search_.values == b.search_.values).all()
    assert not (a.search_.codes == c.search_.codes).all()
    rng = np.random.default_rng
    pd.testing.assert_frame_equal(a.sample(released.n_rows, rng(1)), b.sample(released.n_rows, rng(1)))


def test_stepped_mutation_divides_the_rate_by_three_every_step():
    settings = EaSettings(mutation_rate=9e-4, mutation_step=250, mutation_divisor=3)
    assert mutation_rate_at(1, settings) == mutation_rate_at(250, settings) == 9e-4
    assert mutation_rate_at(251, settings) == pytest.approx(3e-4)
    assert mutation_rate_at(501, settings) == pytest.approx(1e-4)


def test_stops_at_the_target_error(released):
    synthesiser = EaSynthesiser(random_state=2, generations=2000, target_mae=0.05).fit_outputs(released)
    assert synthesiser.search_.stopped_by == "target" and synthesiser.search_.generations < 2000


def test_fit_clears_outputs_and_the_search_reads_nothing_else(monkeypatch):
    frame, meta = _logistic_trial(n=600)
    seen = []
    original = EaSearch.__init__

    def spy(self, outputs, settings):
        seen.append(outputs)
        original(self, outputs, settings)

    monkeypatch.setattr(EaSearch, "__init__", spy)
    synthesiser = EaSynthesiser(random_state=0, generations=5).fit(frame, meta)
    assert len(seen) == 1 and isinstance(seen[0], ReleasedOutputs)
    kept = [vars(synthesiser), vars(synthesiser.search_)]
    assert not any(isinstance(v, pd.DataFrame | pd.Series) for d in kept for v in d.values())


def test_outputs_only_synthesis_from_a_json_file(tmp_path, released):
    released.to_json(tmp_path / "outputs.json")
    synthesiser = EaSynthesiser(random_state=0, generations=20)
    synthesiser.fit_outputs(ReleasedOutputs.from_json(tmp_path / "outputs.json"))
    synthetic = synthesiser.sample(released.n_rows, np.random.default_rng(0))
    assert list(synthetic.columns) == ["treatment", "area", "age", "owns"]
    assert set(synthetic["area"]) <= {"north", "south", "east"}
    edges = released.variable("age").edges
    assert synthetic["age"].between(edges[0], edges[-1]).all()


def test_several_sources_are_weighted_by_their_released_precision():
    variables = (
        VariableOutput("x", "categorical", (0.5, 0.5), levels=(0, 1)),
        VariableOutput("y", "categorical", (0.5, 0.5), levels=(0, 1)),
    )

    def source(name, coefficient, error):
        model = ModelOutput(
            "y",
            "logistic",
            ("x",),
            ("(Intercept)", "x_1"),
            (0.0, coefficient),
            500,
            source=name,
            event=1,
            standard_errors=(0.1, error),
        )
        return ReleasedOutputs(n_rows=500, variables=variables, models=(model,), sources=(name,))

    combined = combine_outputs([source("A", 1.0, 0.1), source("B", 0.0, 0.2)])
    (group,) = EaSearch(combined, EaSettings()).groups
    # precision 100 against 25: the optimum is (100 * 1.0 + 25 * 0.0) / 125 = 0.8, not the mean 0.5
    assert group.anchor[1] == pytest.approx(0.8)


def test_a_coded_column_of_numbers_that_are_not_whole_is_released_as_numbers():
    """A categorical code 0 / 0.5 / 1 (an oedema score) stays numeric in the file: text there
    is another type than the real column's."""
    frame, meta = _logistic_trial(n=600)
    frame["oedema"] = np.random.default_rng(3).choice([0.0, 0.5, 1.0], len(frame), p=[0.7, 0.2, 0.1])
    meta = TrialMeta(kinds={**meta.kinds, "oedema": "categorical"}, treatment="treatment", outcomes=("owns",))
    synthetic = (
        EaSynthesiser(random_state=0, generations=5).fit(frame, meta).sample(600, np.random.default_rng(0))
    )
    assert pd.api.types.is_float_dtype(synthetic["oedema"])
    assert set(synthetic["oedema"].unique()) <= {0.0, 0.5, 1.0}
