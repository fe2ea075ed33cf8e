"""The EA's first covariates drawn together: a Gaussian copula with the released associations.

The outputs release the rank correlations of every variable and its missingness on normal
scores (``outputs.clearance_associations``). A row of latent normals is drawn with a latent
correlation matrix, and each variable's code is read off its latent through its released
proportions - a category by its position among the levels (in its released latent order), a
histogram bin by its order - and its missingness off its own latent (the top share of it
missing). Coarse values attenuate a correlation (two binary columns of latent correlation 0.5
correlate about 0.33), so the latent matrix is calibrated: starting from the released one, it is
moved by the gap between the released correlations and those of a seeded draw's normal scores
until they meet (``CALIBRATION_ROUNDS``), each time made positive definite. Without released
associations the variables are drawn independently, the paper's start.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from trialsynth.outputs.released import ReleasedOutputs

MISSING = "__missing"
MIN_EIGENVALUE = 1e-6
CALIBRATION_ROWS = 20_000
CALIBRATION_ROUNDS = 6


class Copula:
    def __init__(self, outputs: ReleasedOutputs):
        names = list(outputs.latent_names)
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
        released = positive_definite(np.asarray(outputs.latent_correlations, dtype=float))
        self.factor = np.linalg.cholesky(self._calibrated(released))

    @classmethod
    def of(cls, outputs: ReleasedOutputs) -> Copula | None:
        names = set(outputs.latent_names)
        if not names or any(v.name not in names for v in outputs.variables):
            return None
        return cls(outputs)

    def draw(self, n_rows: int, rng: np.random.Generator) -> np.ndarray:
        """Codes of ``n_rows`` rows (rows x variables), every variable's from the copula."""
        positions, missing = self._read(self._latent(self.factor, n_rows, rng))
        codes = np.empty(positions.shape, dtype=np.int16)
        for i, order in enumerate(self.orders):
            codes[:, i] = np.where(missing[:, i], self.na_codes[i], order[positions[:, i]])
        return codes

    def _latent(self, factor: np.ndarray, n_rows: int, rng: np.random.Generator) -> np.ndarray:
        return stats.norm.cdf(rng.standard_normal((n_rows, factor.shape[0])) @ factor.T)

    def _read(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each variable's position in its latent order and whether it is missing."""
        positions = np.empty((len(u), len(self.cdfs)), dtype=np.int64)
        missing = np.zeros(positions.shape, dtype=bool)
        for i, cdf in enumerate(self.cdfs):
            positions[:, i] = np.minimum(
                np.searchsorted(cdf, u[:, self.value_of[i]], side="right"), len(cdf) - 1
            )
            if self.missing_of[i] >= 0:
                missing[:, i] = u[:, self.missing_of[i]] > 1.0 - self.missing_share[i]
        return positions, missing

    def _calibrated(self, released: np.ndarray) -> np.ndarray:
        """The latent matrix whose draws' normal-score correlations meet the released ones."""
        latent = released.copy()
        rng = np.random.default_rng(0)  # a fixed draw: the calibration is a computation, not noise
        for _ in range(CALIBRATION_ROUNDS):
            positions, missing = self._read(self._latent(np.linalg.cholesky(latent), CALIBRATION_ROWS, rng))
            columns = np.full((CALIBRATION_ROWS, len(released)), np.nan)
            for i in range(len(self.cdfs)):
                columns[:, self.value_of[i]] = np.where(missing[:, i], np.nan, positions[:, i])
                if self.missing_of[i] >= 0:
                    columns[:, self.missing_of[i]] = missing[:, i]
            frame = pd.DataFrame(columns)
            scores = stats.norm.ppf((frame.rank() - 0.5) / frame.notna().sum())  # as clearance reads
            achieved = pd.DataFrame(scores).corr().fillna(0.0).to_numpy(copy=True)
            np.fill_diagonal(achieved, 1.0)
            latent = positive_definite(np.clip(latent + (released - achieved), -0.995, 0.995))
        return latent


def positive_definite(matrix: np.ndarray) -> np.ndarray:
    """The nearest correlation matrix by eigenvalue clipping (unit diagonal restored)."""
    matrix = matrix.copy()
    np.fill_diagonal(matrix, 1.0)
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    fixed = vectors @ np.diag(np.maximum(values, MIN_EIGENVALUE)) @ vectors.T
    scale = np.sqrt(np.diag(fixed))
    return fixed / np.outer(scale, scale)
