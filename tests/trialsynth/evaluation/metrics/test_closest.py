"""The smallest distance between a synthetic and a real row: exact by brute force, and within the
rows' patterns of two-valued columns only when no pair of different patterns can be nearer."""

import numpy as np
import pytest

from trialsynth.evaluation.metrics.closest import brute, closest, within_patterns


def _everywhere(real: np.ndarray, synth: np.ndarray) -> float:
    return float(np.sqrt(((synth[:, None, :] - real[None, :, :]) ** 2).sum(axis=2)).min())


def _patterned(rng: np.random.Generator, rows: int) -> np.ndarray:
    """Rows of two measurements, four binary columns and a three-level category (one-hot over
    sqrt 2): 48 patterns."""
    category = np.eye(3)[rng.integers(0, 3, rows)] / np.sqrt(2.0)
    return np.hstack([rng.random((rows, 2)), rng.integers(0, 2, (rows, 4)).astype(float), category])


def test_the_patterns_give_the_brute_force_minimum():
    rng = np.random.default_rng(0)
    real, synth = _patterned(rng, 600), _patterned(rng, 500)
    found = within_patterns(real, synth)
    assert found is not None  # the closest pair shares a pattern, nearer than 1/sqrt 2
    assert found == pytest.approx(_everywhere(real, synth), rel=1e-12)
    assert closest(real, synth) == pytest.approx(_everywhere(real, synth), rel=1e-12)


def test_a_copy_is_found_at_zero_within_its_pattern():
    rng = np.random.default_rng(1)
    real, synth = _patterned(rng, 400), _patterned(rng, 300)
    synth[123] = real[45]
    assert closest(real, synth) == 0.0


def test_a_nearest_pair_across_patterns_falls_back_to_every_pair():
    """Every synthetic row differs from every real row in a binary column, and within its pattern
    lies far on the measurements: the closest pair crosses patterns, and every pair is searched."""
    rng = np.random.default_rng(2)
    real, synth = _patterned(rng, 300), _patterned(rng, 300)
    real[:, 2] = 0.0
    synth[:, 2] = 1.0
    real[:, 3] = synth[:, 3] = 0.0
    real[:, 3][:5] = 1.0  # a shared pattern whose pairs are far on the measurements
    synth[:, 3][:5] = 1.0
    real[:5, :2] = 0.0
    synth[:5, :2] = 1.0
    assert within_patterns(real, synth) is None
    assert closest(real, synth) == pytest.approx(_everywhere(real, synth), rel=1e-12)


def test_no_two_valued_column_leaves_every_pair_to_the_brute_force():
    rng = np.random.default_rng(3)
    real, synth = rng.random((100, 5)), rng.random((80, 5))
    assert within_patterns(real, synth) is None
    assert closest(real, synth) == pytest.approx(_everywhere(real, synth), rel=1e-12)


def test_the_closest_pair_is_measured_again_exactly():
    """The chunked search's |x|^2 + |y|^2 - 2xy leaves rounding residue for a copied row of wide
    values; the re-measured pair is exact: 0 for a copy, the true distance for a near copy."""
    rng = np.random.default_rng(0)
    real = rng.uniform(1e3, 1e4, (200, 30))
    far = rng.uniform(2e4, 3e4, (50, 30))  # every row far from every real one
    assert brute(real, np.vstack([far, real[17]])) == 0.0
    near = real[17].copy()
    near[3] += 3.0
    assert brute(real, np.vstack([far, near])) == pytest.approx(3.0, abs=1e-9)


def test_the_single_precision_pass_never_loses_the_closest_pair():
    """Two synthetic rows nearer a real row than single precision can tell apart: the minimum
    is still the double-precision one over every pair."""
    rng = np.random.default_rng(3)
    real, synth = rng.random((700, 40)), rng.random((900, 40))
    synth[5] = real[9] + 1e-4
    synth[6] = real[9] + 1e-4 * (1 + 1e-7)  # farther by far less than float32's resolution
    synth[7] = real[11] - 1e-4 * (1 - 1e-7)  # the closest, by as little
    everywhere = _everywhere(real, synth)
    assert brute(real, synth) == pytest.approx(everywhere, rel=1e-12)
    assert brute(real, synth) == pytest.approx(np.linalg.norm(synth[7] - real[11]), rel=1e-12)


def test_near_ties_within_a_pattern_are_told_apart():
    rng = np.random.default_rng(4)
    real, synth = rng.random((700, 40)), rng.random((900, 40))
    synth[5] = real[9] + 1e-4
    synth[6] = real[9] + 1e-4 * (1 + 1e-7)
    synth[7] = real[11] - 1e-4 * (1 - 1e-7)
    real_bits, synth_bits = rng.integers(0, 2, (700, 6)), rng.integers(0, 2, (900, 6))
    synth_bits[[5, 6]], synth_bits[7] = real_bits[9], real_bits[11]
    real, synth = np.hstack([real, real_bits]), np.hstack([synth, synth_bits])
    found = within_patterns(real, synth)
    assert found is not None
    assert found == pytest.approx(np.linalg.norm(synth[7] - real[11]), rel=1e-12)
