import numpy as np
import pytest

from trialsynth.dp.noise import PublicNoise, SecureNoise, report_noisy_max


def test_discrete_gaussian_is_integer_with_the_stated_spread():
    noise = PublicNoise(np.random.default_rng(0))
    for sigma in (0.7, 3.0, 25.0):
        draws = noise.discrete_gaussian(sigma, 40_000)
        assert draws.dtype == np.int64
        assert abs(draws.mean()) < 0.05 * sigma + 0.02
        assert draws.std() == pytest.approx(sigma, rel=0.05)


def test_discrete_gaussian_matches_its_probabilities():
    """P(k) proportional to exp(-k^2 / (2 sigma^2)) on the integers, checked cell by cell."""
    sigma = 1.5
    draws = PublicNoise(np.random.default_rng(1)).discrete_gaussian(sigma, 200_000)
    ks = np.arange(-8, 9)
    weights = np.exp(-(ks**2) / (2 * sigma**2))
    expected = weights / weights.sum()
    observed = np.array([(draws == k).mean() for k in ks])
    assert np.abs(observed - expected).max() < 0.005


def test_secure_noise_has_no_seed_and_never_repeats():
    a, b = SecureNoise(), SecureNoise()
    assert not np.array_equal(a.discrete_gaussian(50.0, 64), b.discrete_gaussian(50.0, 64))
    u = a.uniform(10_000)
    assert u.min() > 0 and u.max() <= 1
    assert not hasattr(a, "seed") and not hasattr(a, "rng")


def test_report_noisy_max_follows_the_exponential_mechanism():
    """Selection probabilities are proportional to exp(epsilon * score / (2 * sensitivity))."""
    noise = PublicNoise(np.random.default_rng(2))
    scores = np.array([0.0, 1.0, 3.0])
    picks = np.bincount([report_noisy_max(scores, 2.0, 1.0, noise) for _ in range(30_000)], minlength=3)
    expected = np.exp(scores) / np.exp(scores).sum()
    assert np.abs(picks / picks.sum() - expected).max() < 0.01


def test_bad_sigma_is_named():
    with pytest.raises(ValueError, match="'sigma'"):
        SecureNoise().discrete_gaussian(0.0, 3)
