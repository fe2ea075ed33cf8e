"""Values inside histogram bins: what a continuous cell of an EA candidate holds."""

from __future__ import annotations

import numpy as np


class BinValues:
    """Drawing a value inside a histogram bin: one of the released atoms of the bin (exact
    values many rows hold) with its share of the bin's rows, else one of the values the
    column's precision allows there, or uniformly when that grid is too fine to list."""

    def __init__(self, variables: list, continuous: list[int]):
        lows: list[float] = []
        highs: list[float] = []
        starts: list[int] = []
        counts: list[int] = []
        grid: list[float] = []
        atoms: list[tuple[list[float], list[float]]] = []
        self.bin_offset = np.zeros(len(variables), dtype=np.int64)
        total = 0
        for i in continuous:
            variable = variables[i]
            self.bin_offset[i] = len(lows)
            for (low, high), values in zip(
                zip(variable.edges[:-1], variable.edges[1:], strict=True), variable.bin_grids(), strict=True
            ):
                lows.append(low)
                highs.append(high)
                starts.append(total)
                counts.append(0 if values is None else len(values))
                if values is not None:
                    grid.extend(values.tolist())
                    total += len(values)
            atoms += bin_atoms(variable)
        if not lows:  # no continuous variable: one placeholder bin keeps the lookups valid
            lows, highs, starts, counts = [0.0], [0.0], [0], [0]
            atoms = [([], [])]
        self.low, self.high = np.asarray(lows, dtype=float), np.asarray(highs, dtype=float)
        self.start, self.count = np.asarray(starts, dtype=np.int64), np.asarray(counts, dtype=np.int64)
        self.grid = np.asarray(grid + [0.0], dtype=float)
        self.n_bins = np.array([len(v.edges) - 1 if v.kind == "continuous" else 0 for v in variables])
        width = max([len(a) for a, _ in atoms] + [1])
        self.atom_values = np.zeros((len(atoms), width))
        self.atom_cdf = np.full((len(atoms), width), 2.0)  # beyond a bin's atoms: never reached
        for b, (values, shares) in enumerate(atoms):
            self.atom_values[b, : len(values)] = values
            self.atom_cdf[b, : len(values)] = np.cumsum(shares)
        self.atom_total = np.array([sum(shares) for _, shares in atoms])

    def draw(self, var: np.ndarray, code: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Values for cells (``var``, ``code``); 0 for a missing code or a categorical variable."""
        inside = code < self.n_bins[var]
        b = self.bin_offset[var] + np.where(inside, code, 0)
        u = rng.random(var.shape)
        listed = self.count[b] > 0
        pick = self.grid[
            self.start[b] + np.minimum((u * self.count[b]).astype(np.int64), self.count[b] - 1).clip(0)
        ]
        uniform = self.low[b] + u * (self.high[b] - self.low[b])
        value = np.where(listed, pick, uniform)
        if self.atom_total.any():
            a = rng.random(var.shape)
            which = (a[..., None] >= self.atom_cdf[b]).sum(axis=-1)
            atom = self.atom_values[b, np.minimum(which, self.atom_values.shape[1] - 1)]
            value = np.where(a < self.atom_total[b], atom, value)
        return np.where(inside, value, 0.0)


def bin_atoms(variable) -> list[tuple[list[float], list[float]]]:
    """Per bin of a continuous variable: its released atoms and each one's share of the bin's
    rows (the atom's share of present rows over the bin's; at most the whole bin)."""
    edges = np.asarray(variable.edges, dtype=float)
    n_bins = len(edges) - 1
    present = np.asarray(variable.proportions[:n_bins], dtype=float)
    present = present / present.sum() if present.sum() > 0 else present
    out: list[tuple[list[float], list[float]]] = [([], []) for _ in range(n_bins)]
    for value, share in zip(variable.atoms, variable.atom_shares, strict=True):
        b = int(np.clip(np.searchsorted(edges, value, side="right") - 1, 0, n_bins - 1))
        if present[b] > 0:
            out[b][0].append(float(value))
            out[b][1].append(share / present[b])
    for _, shares in out:
        total = sum(shares)
        if total > 1:
            shares[:] = [s / total for s in shares]
    return out
