"""The distance-to-closest-record share (``dcr_share``): how much closer a synthetic file's rows
are to the rows it learnt from than to real rows it never saw, read against what real pupils
neither set holds score (its null measured, not assumed). Rows arrive embedded in the attacks'
distance space (``attacks.Space``).

In a long-format file whose method drew pupils, the record is the pupil too
(``pupil_profiles``): each pupil's rows summed up as one point, the mean of its rows and how many
it has, so a new pupil is compared with the real pupils it may copy. The file's share is the
larger of the pupils' and the rows' (``attacks``), the rows' where it can tell (``Reading``):
a row of five coded columns is held by hundreds of pupils, and rows are mostly tied
(insteval-large: 476 of 5,000 synthetic rows not tied, a null of 0.94 that leaves the share to
noise), while rows copied from real pupils but dealt to new ones, or a pupil's first rows, are
caught between rows alone (pupils 0.56-0.64, rows 1.0)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from trialsynth.evaluation.metrics.manhattan import nearest as manhattan_nearest
from trialsynth.evaluation.metrics.rates import Rate

DCR_SYNTHETIC_ROWS = 5000  # synthetic rows whose closest distances are measured
# Between rows, a long file's share is read only where it can tell: at least this share of the
# synthetic rows not tied, and a null of at most ``INFORMATIVE_NULL``
INFORMATIVE_UNTIED = 0.5
INFORMATIVE_NULL = 0.9
# a synthetic row farther from every real row than this share of real rows are from their nearest
# other pupil is set aside (``reading``)
REACH_QUANTILE = 0.95
# ... and whose nearest real row is the nearest of at least this many measured synthetic rows (a
# hub at the data's edge): a copy pushed out of reach (an unseen level, a sentinel value) still
# sits nearest its own source, which few other rows share, and is read
HUB_ROWS = 10
TIED = 1e-12  # distances this close are equal


@dataclass(frozen=True)
class Reading:
    """``dcr_share`` with the bounds of its interval, the share of the measured synthetic rows
    it was read over (not tied, not set aside at the data's edge) and the null (``dcr_share``)."""

    share: float
    low: float
    high: float
    untied: float
    null: float

    @property
    def informative(self) -> bool:
        return self.untied >= INFORMATIVE_UNTIED and self.null <= INFORMATIVE_NULL


def nearest(points: np.ndarray, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distance to and index of each query's nearest point (Manhattan, exact: ``manhattan``)."""
    distances, index = manhattan_nearest(points, queries)
    return distances[:, 0], index[:, 0]


def dcr_share(
    trained: np.ndarray,
    held: np.ndarray,
    synth: np.ndarray,
    rng: np.random.Generator,
    units: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[float, float, float]:
    """The share and the bounds of its interval (``reading``)."""
    found = reading(trained, held, synth, rng, units)
    return found.share, found.low, found.high


def reading(
    trained: np.ndarray,
    held: np.ndarray,
    synth: np.ndarray,
    rng: np.random.Generator,
    units: tuple[np.ndarray, np.ndarray] | None = None,
) -> Reading:
    """Share of synthetic rows (up to ``DCR_SYNTHETIC_ROWS`` of them, seeded) closer to a
    training row than to a held-out row, against the share real pupils score that neither set
    holds: 0.5 for a file no closer to the rows it learnt from than such pupils are, 1 when every
    row is.

    Measured against every training and every held-out row (a training sample of the holdout's
    size would hide most copies: a row copied from a training pupil left out of the sample is as
    close to either set), over the rows that can tell where they came from:
    - not equally close to both sets (a tie says nothing; counted, a copy of a value many pupils
      hold would dilute the share towards the null);
    - not lost at the data's edge: a row farther from every real row than ``REACH_QUANTILE`` of
      real rows are from their nearest other pupil (``reach``) whose nearest real row is also the
      nearest of ``HUB_ROWS`` or more measured rows. Such rows share a handful of nearest real
      rows at the data's edge, and which set holds those few is chance: one file of them read
      0.50, 0.74 and 0.84 on three holdout splits. A copy pushed out of reach (one column set
      to an unseen level or a sentinel value: 1.0 before reach, 0.5 with reach alone) still sits
      nearest its own source, shared by few rows, and is read. Rows set aside read as no
      closer (0.5): the share is 0.5 + w (s' - 0.5), w the untied rows' share
      read and s' the scaled share over them (a file that ignores the data, every row
      out of reach: 0.5; half copies, half such rows: 0.75).
    The null ``s0`` is the same share for real rows (as many, seeded) each against both sets less
    its own pupil's rows (``_unseen_share``; ``units``: the training and held-out rows' pupils in
    a long-format file): for continuous data about p = n_training / n_real, but above it wherever
    values repeat - a value a few pupils hold sits in the larger set alone far more often than
    the sets' sizes say (on a 2,000-pupil x 3-wave demo file, unseen real pupils scored 0.60
    against a null of p). The share s over the rows within reach is scaled as
    s' = 0.5 + 0.5 (s - s0) / (1 - s0), with the bounds of its 95% Wilson interval mapped alike;
    every row tied or out of reach: 0.5. Rows whose nearest real row is the same one are one
    cluster (which set holds that row decides them all): the interval's count is the effective
    one, n^2 / sum of the clusters' sizes squared."""
    points = synth[rng.choice(len(synth), min(DCR_SYNTHETIC_ROWS, len(synth)), replace=False)]
    to_training, on_training = nearest(trained, points)
    to_control, on_control = nearest(held, points)
    p = len(trained) / (len(trained) + len(held))
    null, reach = _unseen_share(trained, held, units, p, rng)
    untied = np.abs(to_training - to_control) > TIED
    source = np.where(to_training < to_control, on_training, len(trained) + on_control)
    _, where, sizes = np.unique(source, return_inverse=True, return_counts=True)
    hub = sizes[where] >= HUB_ROWS  # the nearest real row of many measured rows
    near = untied & ((np.minimum(to_training, to_control) <= reach) | ~hub)
    if not near.any():
        return Reading(0.5, 0.5, 0.5, 0.0, null)
    closer, read = _closer(to_training[near], to_control[near])
    share = closer / read
    effective = near.sum() ** 2 / float((np.unique(source[near], return_counts=True)[1] ** 2).sum())
    low, high = Rate(share * effective, effective).wilson()
    weight = float(near.sum() / untied.sum())  # the untied rows out of reach read as no closer

    def scaled(s: float) -> float:
        read = float(np.clip(0.5 + 0.5 * (s - null) / max(1 - null, 1e-9), 0.0, 1.0))
        return 0.5 + weight * (read - 0.5)

    return Reading(scaled(share), scaled(low), scaled(high), float(near.sum() / len(points)), null)


def _closer(to_training: np.ndarray, to_control: np.ndarray) -> tuple[int, int]:
    """How many rows are strictly closer to a training row, of how many are not tied."""
    tied = np.abs(to_training - to_control) <= TIED
    return int(((to_training < to_control) & ~tied).sum()), int((~tied).sum())


def _unseen_share(
    trained: np.ndarray,
    held: np.ndarray,
    units: tuple[np.ndarray, np.ndarray] | None,
    p: float,
    rng: np.random.Generator,
) -> tuple[float, float]:
    """``dcr_share``'s null: real rows (up to ``DCR_SYNTHETIC_ROWS``, from both sets) each scored
    as if synthetic against the training and the held-out rows of other pupils; with ``reach``,
    the ``REACH_QUANTILE`` of their distances to the nearest row of another pupil (over the rows
    within it, as a synthetic row is read)."""
    if units is None:
        units = (
            np.arange(len(trained)).astype(str),
            np.arange(len(trained), len(trained) + len(held)).astype(str),
        )
    ids = (np.asarray(units[0]).astype(str), np.asarray(units[1]).astype(str))
    both, both_ids = np.vstack([trained, held]), np.concatenate(ids)
    picks = rng.choice(len(both), min(DCR_SYNTHETIC_ROWS, len(both)), replace=False)
    queries, query_ids = both[picks], both_ids[picks]
    to_training = _nearest_other(trained, ids[0], queries, query_ids)
    to_control = _nearest_other(held, ids[1], queries, query_ids)
    present = np.isfinite(to_training) & np.isfinite(to_control)
    closest = np.minimum(to_training, to_control)
    reach = float(np.quantile(closest[present], REACH_QUANTILE)) if present.any() else np.inf
    counted = present & (closest <= reach)
    closer, untied = _closer(to_training[counted], to_control[counted])
    return (closer / untied if untied else p), reach


def _nearest_other(
    points: np.ndarray, ids: np.ndarray, queries: np.ndarray, query_ids: np.ndarray
) -> np.ndarray:
    """Distance from each query to its nearest point of another pupil (inf where none is)."""
    per_pupil = int(pd.Series(ids).value_counts().max())
    k = min(len(points), per_pupil + 1)
    distances, index = manhattan_nearest(points, queries, k)
    other = ids[index] != query_ids[:, None]
    found = other.any(axis=1)
    return np.where(found, distances[np.arange(len(queries)), other.argmax(axis=1)], np.inf)


def pupil_profiles(points: np.ndarray, units: np.ndarray, most_rows: int) -> np.ndarray:
    """One point per pupil of a long-format file: the mean of its rows' points (a measurement's
    mean, each category's share) and its row count over ``most_rows`` (the most a real pupil
    has), pupils in the order they first appear."""
    codes = pd.factorize(pd.Series(np.asarray(units).astype(str)))[0]
    frame = pd.DataFrame(points).groupby(codes, sort=True)
    counts = frame.size().to_numpy(dtype=float)
    return np.hstack([frame.mean().to_numpy(dtype=float), (counts / max(most_rows, 1))[:, None]])
