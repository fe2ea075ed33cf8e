"""The atoms of continuous columns, selected under DP and decoded to, tested as an adversary
would: a value one pupil alone holds must (almost) never be released as an atom."""

import numpy as np
import pandas as pd
import pytest

from trialsynth.dp.accounting import plan_budget, zcdp_rho
from trialsynth.dp.atoms import Atoms, bin_weights, draw_within, select_atoms
from trialsynth.dp.domain import estimation_sigma, selection_threshold
from trialsynth.dp.noise import PublicNoise

RHO, DELTA = 0.01, 1e-9
BOUNDS = {"score": (-4.0, 4.0), "smooth": (-4.0, 4.0)}


def _frame(n: int = 20_000, planted: float | None = None) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    lattice = np.round(rng.choice([-1.204085, -0.118812, 0.475294, 1.30108], n), 6)
    frame = pd.DataFrame({"score": lattice, "smooth": np.round(rng.normal(0, 1, n), 6)})
    if planted is not None:
        frame.loc[0, "score"] = planted
    return frame


def _select(frame: pd.DataFrame, seed: int):
    decimals = {"score": 6, "smooth": 6}
    return select_atoms(frame, decimals, BOUNDS, RHO, DELTA, PublicNoise(np.random.default_rng(seed)))


def test_a_lattice_column_gets_its_values_and_a_smooth_one_none():
    atoms, record = _select(_frame(), seed=0)
    assert set(atoms) == {"score"}
    assert atoms["score"].values == (-1.204085, -0.118812, 0.475294, 1.30108)
    sigma = estimation_sigma(RHO, 2)  # two histograms share rho
    assert record["sigma"] == pytest.approx(sigma)
    assert record["threshold"] == pytest.approx(selection_threshold(sigma, DELTA, 2))


def test_a_value_one_pupil_holds_never_becomes_an_atom():
    """The adversary plants a pupil with a value no one else holds (inside the bounds) and reads
    the released atoms: over many noise draws it must not appear."""
    planted = 2.718281
    for seed in range(200):
        atoms, _ = _select(_frame(planted=planted), seed)
        assert planted not in atoms["score"].values


def test_values_outside_the_public_bounds_are_never_atoms():
    frame = _frame()
    frame.loc[:999, "score"] = 9.5  # a thousand pupils beyond the public bound 4
    atoms, _ = _select(frame, seed=1)
    assert 9.5 not in atoms["score"].values


def test_atoms_take_their_share_of_rho_and_half_of_delta():
    budget = plan_budget(1.0, DELTA, atoms_share=0.05)
    assert budget.parts["atoms"] == pytest.approx(0.05 * budget.rho)
    assert sum(budget.parts.values()) == pytest.approx(budget.rho)
    assert budget.delta_selection == DELTA / 2 and budget.rho == pytest.approx(zcdp_rho(1.0, DELTA / 2))
    assert "atoms" not in plan_budget(1.0, DELTA).parts
    with pytest.raises(ValueError, match="atoms_share"):
        plan_budget(1.0, DELTA, estimate_share=0.6, atoms_share=0.5)


def test_a_bin_with_atoms_decodes_to_them_in_their_share():
    edges = np.linspace(0.0, 4.0, 5)  # bins [0,1) [1,2) [2,3) [3,4]
    atoms = Atoms((0.5, 0.75, 2.5), (300.0, 100.0, 50.0))
    rng = np.random.default_rng(0)
    index = np.repeat([0, 1, 2], 10_000)
    uniform = rng.uniform(edges[index], edges[index + 1])
    mass = np.array([400.0, 80.0, 100.0, 0.0])  # bin 2: the atom holds half its mass
    out = draw_within(atoms, edges, mass, index, uniform, rng)
    first = out[index == 0]
    assert set(np.unique(first)) == {0.5, 0.75} and np.mean(first == 0.5) == pytest.approx(0.75, abs=0.02)
    assert np.array_equal(out[index == 1], uniform[index == 1])  # no atom: as drawn
    assert np.mean(out[index == 2] == 2.5) == pytest.approx(0.5, abs=0.02)


def test_empty_bins_lose_their_phantom_pupils_where_the_column_has_atoms():
    """Known-bad: clipped noisy counts give every empty bin a few sigma of pupils, each decoded to
    a value no pupil holds; below 3 sigma such a bin weighs nothing, a bin with atoms their count."""
    edges = np.linspace(0.0, 4.0, 5)
    atoms = Atoms((0.5, 2.5), (300.0, 120.0))
    noisy = np.array([310.0, 40.0, 500.0, 700.0, 25.0])  # four bins and the missing code
    weights = bin_weights(atoms, edges, noisy, floor=60.0)
    # bin 0: its atom, the 10 beyond it noise; bin 2: its atom and 380 pupils of other values
    assert weights.tolist() == [300.0, 0.0, 500.0, 700.0, 25.0]
    mass = weights[:4]
    rng = np.random.default_rng(0)
    index = np.repeat([0, 2], 10_000)
    out = draw_within(atoms, edges, mass, index, rng.uniform(edges[index], edges[index + 1]), rng)
    assert np.all(out[index == 0] == 0.5)  # a spike alone decodes to it
    assert np.mean(out[index == 2] == 2.5) == pytest.approx(120 / 500, abs=0.02)  # a mixed bin keeps its rest
