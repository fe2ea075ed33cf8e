"""School labels for a file drawn from released outputs, fitted to the released school outputs.

The outputs hold school sizes (grouped, rounded), each school's arm where schools were
randomised whole, and the primary outcome's ICC by school. The rows are dealt to schools as a
one-factor model would place them: every school draws an effect ``a_j``, every place in it a
noise ``b``, a place's latent value is ``sqrt(rho) a_j + sqrt(1 - rho) b``, and rows are matched
to places by rank of their outcome (within their arm, where arms are released). ``rho`` is set
by bisection so that the file's ICC (the same one-way ANOVA estimator the evaluation reads)
meets the released one; the rows themselves - and with them every released model and
proportion - are unchanged. Without a released ICC ``rho`` is 0: schools dealt at random.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from trialsynth.data.schools import icc_of
from trialsynth.outputs.regression import encode
from trialsynth.outputs.released import ReleasedOutputs

BISECTIONS = 14  # rho to within 1e-4: far below the released ICC's two decimals


def school_labels(
    outputs: ReleasedOutputs, codes: np.ndarray, values: np.ndarray, rng: np.random.Generator
) -> pd.Series:
    """``school-NNN`` for each row of ``codes`` / ``values`` (the sampled rows, as the search
    laid them out)."""
    sizes = np.asarray(outputs.cluster_sizes, dtype=np.int64)
    n = len(codes)
    latent = _outcome(outputs, codes, values)
    row_arm, school_arm = _arms(outputs, codes, len(sizes))
    places = _places(sizes, row_arm, school_arm)
    school_effect = rng.normal(size=len(sizes))
    noise = rng.normal(size=n)
    tiebreak = rng.random(n)
    known = ~np.isnan(latent)
    centre, spread = (0.0, 1.0)
    if known.any():
        centre, spread = float(np.mean(latent[known])), float(np.std(latent[known]))
    latent = np.where(known, latent, rng.normal(size=n) * (spread or 1.0) + centre)  # missing: anywhere

    def deal(rho: float) -> np.ndarray:
        labels = np.empty(n, dtype=np.int64)
        for rows, schools in places:
            slot = np.sqrt(rho) * school_effect[schools] + np.sqrt(1 - rho) * noise[rows]
            order = np.lexsort((tiebreak[rows], latent[rows]))
            labels[rows[order]] = schools[np.argsort(slot, kind="stable")]
        return labels

    rho = _fit(deal, latent, known, outputs.school_icc)
    labels = deal(rho)
    width = max(3, len(str(len(sizes))))
    order = rng.permutation(len(sizes))
    return pd.Series([f"school-{order[i] + 1:0{width}d}" for i in labels], dtype="object")


def _fit(deal, latent: np.ndarray, known: np.ndarray, target: float | None) -> float:
    """The ``rho`` whose dealing gives the released ICC (0 without one), by bisection."""
    if target is None or target <= 0:
        return 0.0
    low, high = 0.0, 0.99
    for _ in range(BISECTIONS):
        mid = (low + high) / 2
        value = icc_of(latent[known], deal(mid)[known])
        if value is not None and value > target:
            high = mid
        else:
            low = mid
    return (low + high) / 2


def _outcome(outputs: ReleasedOutputs, codes: np.ndarray, values: np.ndarray) -> np.ndarray:
    """The ICC's outcome for each row: a continuous one's value, a categorical one's code (0/1
    for a binary outcome); NaN where missing or where no ICC was released."""
    if outputs.icc_outcome is None:
        return np.full(len(codes), np.nan)
    names = outputs.names
    i = names.index(outputs.icc_outcome)
    variable = outputs.variables[i]
    if variable.kind == "continuous":
        slot = [v.name for v in outputs.variables if v.kind == "continuous"].index(variable.name)
        y = values[:, slot].astype(float)
    else:
        y = codes[:, i].astype(float)
    if variable.has_missing:
        y = np.where(codes[:, i] == variable.na_code, np.nan, y)
    return y


def _arms(outputs: ReleasedOutputs, codes: np.ndarray, n_schools: int) -> tuple[np.ndarray, np.ndarray]:
    """Each row's and each school's arm as the treatment's code (all 0 without released arms; a
    row without an arm: -1)."""
    if not outputs.cluster_arms or outputs.treatment not in outputs.names:
        return np.zeros(len(codes), dtype=np.int64), np.zeros(n_schools, dtype=np.int64)
    i = outputs.names.index(outputs.treatment)
    variable = outputs.variables[i]
    school_arm = encode(pd.Series(list(outputs.cluster_arms), dtype=object), variable)
    row_arm = codes[:, i].astype(np.int64)
    if variable.has_missing:
        row_arm = np.where(row_arm == variable.na_code, -1, row_arm)
    return row_arm, school_arm


def _places(
    sizes: np.ndarray, row_arm: np.ndarray, school_arm: np.ndarray
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per arm: its rows and, for each, a place's school - the arm's released sizes scaled to its
    rows (largest remainders). Rows of an arm without released schools take places over all
    schools in proportion to their sizes."""
    places = []
    orphans = []
    for arm in np.unique(row_arm):
        rows = np.flatnonzero(row_arm == arm)
        mine = np.flatnonzero(school_arm == arm)
        if not len(mine):
            orphans.append(rows)
            continue
        places.append((rows, np.repeat(mine, _scaled(sizes[mine], len(rows)))))
    if orphans:
        rows = np.concatenate(orphans)
        every = np.arange(len(sizes))
        places.append((rows, np.repeat(every, _scaled(sizes, len(rows)))))
    return places


def _scaled(sizes: np.ndarray, total: int) -> np.ndarray:
    """``sizes`` scaled to sum to ``total`` (largest remainders)."""
    share = sizes / sizes.sum() * total
    whole = np.floor(share).astype(np.int64)
    short = total - int(whole.sum())
    whole[np.argsort(share - whole)[::-1][:short]] += 1
    return whole
