"""The values a continuous column piles up on (its atoms), selected under DP.

A continuous column is binned over its public bounds and a drawn bin is decoded to a value within
it. Many real "continuous" columns are not: a test's scale score, an item-response score or a
count takes a few dozen exact values, each held by hundreds of pupils. Decoded uniformly within
their bins, such columns are what a propensity model separates first (on the CCES survey of the
real-data corpus, three item-response scores read a per-column AUC of 0.86-0.95, every other
column <= 0.50).

The atoms are chosen by Gaussian partition selection, as the undeclared levels of a domain are
(``dp.domain``): every exact value of the column (at the domain's precision) gets its count plus
discrete Gaussian noise, and enters only when its noisy count exceeds the threshold of
``dp.domain.selection_threshold`` - a value held by one record alone passes with probability at
most ``delta_selection`` over all columns. Replacing one record moves one count down and one up
in each column's histogram (L2 sensitivity sqrt 2): ``columns`` histograms at ``sigma`` cost
``columns / sigma^2`` of rho. A truly continuous column (no value shared by enough pupils) gets
no atom and is decoded uniformly within its bins, as before; its share of rho is the price of not
reading that from the rows.

Decoding (``discretise.decode``) draws, within a bin, one of the bin's atoms with probability the
atoms' noisy count over the bin's noisy count (at most 1), the atom in proportion to its noisy
count; otherwise a value uniformly within the bin, rounded to the domain's precision. A bin
weighs its atoms' noisy count plus what its own noisy count holds beyond them, that rest only
from 3 sigma (``bin_weights``). Post-processing of noisy outputs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from trialsynth.dp.domain import estimation_sigma, selection_threshold
from trialsynth.dp.noise import Noise


@dataclass(frozen=True)
class Atoms:
    """A column's selected values and their noisy counts (both noisy outputs: storable)."""

    values: tuple[float, ...]
    counts: tuple[float, ...]

    def to_dict(self) -> dict[str, list[float]]:
        return {"values": list(self.values), "counts": list(self.counts)}

    @classmethod
    def from_dict(cls, spec: dict) -> Atoms:
        return cls(tuple(float(v) for v in spec["values"]), tuple(float(c) for c in spec["counts"]))


def select_atoms(
    data: pd.DataFrame,
    decimals: dict[str, int],
    bounds: dict[str, tuple[float, float]],
    rho: float,
    delta_selection: float,
    noise: Noise,
    held: int = 1,
) -> tuple[dict[str, Atoms], dict]:
    """The atoms of each column of ``data`` (its continuous columns, at their released
    ``decimals``, within their public ``bounds``: values outside are left out) under rho-zCDP plus
    ``delta_selection``; returns them and a record of the noise used. A record of ``held`` rows (a
    long file's pupil) may hold up to ``held`` values of each histogram. A value is binned as held,
    so an atom within rounding of a bin's edge may sit in the next bin."""
    if rho <= 0 or data.shape[1] == 0:
        return {}, {}
    sigma = estimation_sigma(rho, data.shape[1])
    threshold = selection_threshold(sigma, delta_selection, data.shape[1], held)
    atoms: dict[str, Atoms] = {}
    for name in data.columns:
        numbers = pd.to_numeric(data[name], errors="coerce").dropna().round(decimals.get(name, 6))
        low, high = bounds[name]
        numbers = numbers[(numbers >= low) & (numbers <= high)]
        counts = numbers.value_counts()
        noisy = counts.to_numpy(dtype=float) + noise.discrete_gaussian(sigma, len(counts))
        passed = noisy > threshold
        if passed.any():
            order = np.argsort(counts.index.to_numpy(dtype=float)[passed])
            values = counts.index.to_numpy(dtype=float)[passed][order]
            atoms[name] = Atoms(tuple(values.tolist()), tuple(noisy[passed][order].tolist()))
    record = {"sigma": sigma, "threshold": threshold, "rho": rho, "delta_selection": delta_selection}
    return atoms, record | {"columns": {name: len(a.values) for name, a in atoms.items()}}


def draw_within(
    atoms: Atoms,
    edges: np.ndarray,
    bin_mass: np.ndarray | None,
    index: np.ndarray,
    uniform: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Values for rows drawn in bins ``index``: an atom of the bin with probability the atoms'
    noisy count over the bin's (``bin_mass``, the noisy one-way counts; without it, always where
    the bin has atoms), the atom in proportion to its noisy count; else the ``uniform`` value."""
    values = np.asarray(atoms.values)
    counts = np.clip(np.asarray(atoms.counts), 0, None)
    home = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, len(edges) - 2)
    out = uniform.copy()
    for b in np.unique(index):
        mine = home == b
        if not mine.any() or counts[mine].sum() <= 0:
            continue
        rows = np.flatnonzero(index == b)
        share = 1.0 if bin_mass is None else min(1.0, counts[mine].sum() / max(float(bin_mass[b]), 1e-12))
        take = rows[rng.random(rows.size) < share]
        p = counts[mine] / counts[mine].sum()
        out[take] = rng.choice(values[mine], take.size, p=p)
    return out


def bin_weights(atoms: Atoms, edges: np.ndarray, noisy: np.ndarray, floor: float) -> np.ndarray:
    """A column's weights per bin code (its noisy one-way counts, the missing code last) where the
    column has atoms: a bin weighs its atoms' noisy count plus what its own noisy count holds
    beyond them, that rest (or a bin's whole count, without atoms) only when it reaches ``floor``:
    noise alone gives every empty bin - and every bin beyond its atoms - a few sigma of phantom
    pupils, each decoded to a value no pupil holds. Post-processing."""
    weights = np.clip(np.asarray(noisy, dtype=float), 0, None)
    bins = len(edges) - 1
    values, counts = np.asarray(atoms.values), np.clip(np.asarray(atoms.counts), 0, None)
    home = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, bins - 1)
    held = np.bincount(home, weights=counts, minlength=bins)
    rest = np.clip(weights[:bins] - held, 0, None)
    weights[:bins] = held + np.where(rest >= floor, rest, 0.0)
    return weights
