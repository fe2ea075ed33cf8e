"""The EA's first covariates drawn together: a Gaussian copula with the released associations.

The outputs release the rank correlations of every variable and its missingness on normal
scores (``outputs.clearance_associations``). A row of latent normals is drawn with that
correlation matrix (made positive definite first: rounding and pairwise rows can leave it just
outside), and each variable's code is read off its latent through its released proportions - a
category by its position among the levels, a histogram bin by its order - and its missingness
off its own latent (the top share of it missing); a nominal variable's levels in their released
latent order. Without released associations the variables
are drawn independently, the paper's start.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from trialsynth.outputs.released import ReleasedOutputs

MISSING = "__missing"
MIN_EIGENVALUE = 1e-6


class Copula:
    def __init__(self, outputs: ReleasedOutputs):
        names = list(outputs.latent_names)
        self.factor = np.linalg.cholesky(positive_definite(np.asarray(outputs.latent_correlations)))
        orders = dict(outputs.latent_orders)
        self.value_of, self.missing_of, self.cdfs, self.missing_share = [], [], [], []
        self.orders = []
        for variable in outputs.variables:
            self.value_of.append(names.index(variable.name))
            self.missing_of.append(names.index(variable.name + MISSING) if variable.has_missing else -1)
            codes = variable.n_codes - (1 if variable.has_missing else 0)
            order = np.asarray(orders.get(variable.name, range(codes)), dtype=np.int64)
            present = np.asarray(variable.proportions[:codes], dtype=float)[order]
            self.cdfs.append(np.cumsum(present) / present.sum())
            self.orders.append(order)
            self.missing_share.append(variable.proportions[-1] if variable.has_missing else 0.0)
        self.na_codes = [v.n_codes - 1 if v.has_missing else -1 for v in outputs.variables]

    @classmethod
    def of(cls, outputs: ReleasedOutputs) -> Copula | None:
        names = set(outputs.latent_names)
        if not names or any(v.name not in names for v in outputs.variables):
            return None
        return cls(outputs)

    def draw(self, n_rows: int, rng: np.random.Generator) -> np.ndarray:
        """Codes of ``n_rows`` rows (rows x variables), every variable's from the copula."""
        u = stats.norm.cdf(rng.standard_normal((n_rows, self.factor.shape[0])) @ self.factor.T)
        codes = np.empty((n_rows, len(self.cdfs)), dtype=np.int16)
        for i, cdf in enumerate(self.cdfs):
            position = np.minimum(np.searchsorted(cdf, u[:, self.value_of[i]], side="right"), len(cdf) - 1)
            codes[:, i] = self.orders[i][position]
            if self.missing_of[i] >= 0:
                missing = u[:, self.missing_of[i]] > 1.0 - self.missing_share[i]
                codes[missing, i] = self.na_codes[i]
        return codes


def positive_definite(matrix: np.ndarray) -> np.ndarray:
    """The nearest correlation matrix by eigenvalue clipping (unit diagonal restored)."""
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    fixed = vectors @ np.diag(np.maximum(values, MIN_EIGENVALUE)) @ vectors.T
    scale = np.sqrt(np.diag(fixed))
    return fixed / np.outer(scale, scale)
