"""The EA's first generation drawn from the released associations."""

from dataclasses import replace

import numpy as np
import pandas as pd
from scipy import stats

from trialsynth.meta import TrialMeta
from trialsynth.outputs import clear_outputs
from trialsynth.synthesisers.ea_copula import Copula, positive_definite


def _outputs(n=1500, seed=0):
    rng = np.random.default_rng(seed)
    ability = rng.normal(size=n)
    frame = pd.DataFrame(
        {
            "treatment": rng.integers(0, 2, n),
            "pre": np.round(50 + 10 * ability + rng.normal(0, 4, n), 1),
            "band": np.select([ability < -0.5, ability < 0.5], ["low", "middle"], "high"),
            "post": np.round(50 + 9 * ability + rng.normal(0, 5, n), 1),
        }
    )
    absent = rng.random(n) < 0.15
    frame.loc[absent, "post"] = np.nan
    frame.loc[(absent & (rng.random(n) < 0.8)) | (rng.random(n) < 0.03), "pre"] = np.nan
    meta = TrialMeta(
        kinds={"treatment": "binary", "pre": "continuous", "band": "categorical", "post": "continuous"},
        treatment="treatment",
        outcomes=("post",),
    )
    return clear_outputs(frame, meta)


def test_drawn_codes_keep_the_released_associations_and_proportions():
    out = _outputs()
    copula = Copula.of(out)
    codes = copula.draw(20000, np.random.default_rng(1))
    names = out.names
    pre, band, post = (codes[:, names.index(n)] for n in ("pre", "band", "post"))
    pre_var, post_var = out.variable("pre"), out.variable("post")
    present = (pre != pre_var.na_code) & (post != post_var.na_code)
    rho = stats.spearmanr(pre[present], post[present]).statistic
    assert rho > 0.7  # independent draws would give 0
    levels = out.variable("band").levels
    low, high = levels.index("low"), levels.index("high")
    assert pre[(band == low) & present].mean() < pre[(band == high) & present].mean()
    both_missing = np.mean((pre == pre_var.na_code) & (post == post_var.na_code))
    assert both_missing > 2 * pre_var.proportions[-1] * post_var.proportions[-1]  # together, not apart
    shares = np.bincount(band, minlength=3) / len(band)
    assert np.allclose(shares, out.variable("band").proportions, atol=0.02)


def test_without_released_associations_there_is_no_copula():
    assert Copula.of(replace(_outputs(), latent_names=(), latent_correlations=())) is None


def test_a_matrix_just_outside_the_correlations_is_made_positive_definite():
    bad = np.array([[1.0, 0.9, 0.9], [0.9, 1.0, -0.9], [0.9, -0.9, 1.0]])
    fixed = positive_definite(bad)
    assert np.all(np.linalg.eigvalsh(fixed) > 0) and np.allclose(np.diag(fixed), 1.0)
    np.linalg.cholesky(fixed)


def test_coarse_columns_are_not_attenuated():
    """Two binary columns: a latent correlation equal to their released one would draw them
    about a third less correlated; the calibrated copula draws them as released."""
    rng = np.random.default_rng(4)
    latent = rng.multivariate_normal([0, 0], [[1, 0.8], [0.8, 1]], 3000)
    frame = pd.DataFrame(
        {
            "treatment": rng.integers(0, 2, 3000),
            "a": (latent[:, 0] > 0).astype(int),
            "b": (latent[:, 1] > 0.5).astype(int),
            "post": np.round(rng.normal(size=3000), 2),
        }
    )
    meta = TrialMeta(
        kinds={"treatment": "binary", "a": "binary", "b": "binary", "post": "continuous"},
        treatment="treatment",
        outcomes=("post",),
    )
    out = clear_outputs(frame, meta)
    released = np.asarray(out.latent_correlations)[out.latent_names.index("a"), out.latent_names.index("b")]
    codes = Copula.of(out).draw(40000, np.random.default_rng(2))
    drawn = np.corrcoef(codes[:, out.names.index("a")], codes[:, out.names.index("b")])[0, 1]
    assert released > 0.4 and abs(drawn - released) < 0.03
