"""How a drawn group of bins is shared among its bins: AIM compresses a continuous column's bins
into groups of about n / levels noisy pupils (``aim_rounds.measure_one_way``), and a drawn group
is decoded to one of its bins by their noisy one-way counts (post-processing).

A tail group reaches to the public bound and holds dozens of bins no pupil is in; clipped at 0,
noise gives each of them about 0.4 sigma of phantom pupils, decoded across the bound's range (the
demo's test scores: SD 19.0 against 16.1), and cutting every bin under 3 sigma instead truncates
the tail (its lowest 1% piled at the cut: a school covariate's minimum -2.01 against -3.44).
Where a group of at least ``MIN_FITTED_BINS`` bins holds a bin under 3 sigma and more than
noise beyond its atoms, its bins are shared by the curve a exp(b x + c x^2), c <= 0, closest to
their noisy counts (least squares over a grid of ``SLOPES`` and ``CURVATURES``): a tail falls
off smoothly from where the pupils are, as a normal's or an exponential's does, three numbers
estimated from all its bins' noise at once (a N(100, 16) score over 64 bins of [0, 200] at
sigma 135: SD 16.1-17.3 against 18.7-19.9 clipped; a gamma(2, 150) skew alike). In other
groups a bin counts from 3 sigma up, as a bin beside a column's atoms always has
(``dp.atoms.bin_weights``).
"""

from __future__ import annotations

import numpy as np

SLOPES = np.linspace(-2.0, 2.0, 81)  # log-count change per bin tried (a normal tail: -0.2 to -1)
CURVATURES = -np.concatenate([[0.0], np.geomspace(1e-4, 0.5, 30)])  # 0: an exponential tail
MIN_FITTED_BINS = 3


def group_shares(held: np.ndarray, rest: np.ndarray, groups: np.ndarray, floor: float) -> np.ndarray:
    """Each bin's weight: its atoms' noisy count ``held`` and a share of ``rest`` (its noisy
    count beyond them), group by group (``groups``: each bin's group code):

    - a group of ``MIN_FITTED_BINS`` or more bins, one of them under ``floor``, whose rest sums
      to ``floor`` sqrt(bins) or more (pupils beyond the atoms, not noise alone): its fitted
      curve (``tail_fit``);
    - otherwise each bin's rest from ``floor`` up (noise alone gives an empty bin a few sigma of
      phantom pupils); a group left with no weight at all keeps its clipped rest."""
    held, rest = np.asarray(held, dtype=float), np.asarray(rest, dtype=float)
    out = held + np.where(rest >= floor, rest, 0.0)
    for group in np.unique(groups):
        members = np.flatnonzero(groups == group)
        if len(members) >= MIN_FITTED_BINS and (rest[members] < floor).any():
            if rest[members].sum() >= floor * np.sqrt(len(members)):
                out[members] = held[members] + tail_fit(rest[members])
        if out[members].sum() <= 0:
            out[members] = np.clip(rest[members], 0, None)
    return out


def tail_fit(counts: np.ndarray) -> np.ndarray:
    """The curve a exp(b x + c x^2) over the bins (x centred) closest to ``counts`` in squared
    error: for each (b, c) of ``SLOPES`` x ``CURVATURES`` the best height a >= 0 in closed form,
    then the best of them."""
    x = np.arange(len(counts)) - (len(counts) - 1) / 2
    slope, curvature = (grid.ravel() for grid in np.meshgrid(SLOPES, CURVATURES))
    curves = np.exp(np.clip(np.outer(slope, x) + np.outer(curvature, x**2), -700, 700))
    heights = np.clip(curves @ counts / (curves**2).sum(axis=1), 0, None)
    errors = ((counts[None, :] - heights[:, None] * curves) ** 2).sum(axis=1)
    best = int(np.argmin(errors))
    return heights[best] * curves[best]
