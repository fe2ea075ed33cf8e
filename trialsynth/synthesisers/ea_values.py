"""Values inside histogram bins: what a continuous cell of an EA candidate holds."""

from __future__ import annotations

import numpy as np


class BinValues:
    """Drawing a value inside a histogram bin: one of the values the column's precision allows
    there, or uniformly when that grid is too fine to list."""

    def __init__(self, variables: list, continuous: list[int]):
        lows: list[float] = []
        highs: list[float] = []
        starts: list[int] = []
        counts: list[int] = []
        grid: list[float] = []
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
        if not lows:  # no continuous variable: one placeholder bin keeps the lookups valid
            lows, highs, starts, counts = [0.0], [0.0], [0], [0]
        self.low, self.high = np.asarray(lows, dtype=float), np.asarray(highs, dtype=float)
        self.start, self.count = np.asarray(starts, dtype=np.int64), np.asarray(counts, dtype=np.int64)
        self.grid = np.asarray(grid + [0.0], dtype=float)
        self.n_bins = np.array([len(v.edges) - 1 if v.kind == "continuous" else 0 for v in variables])

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
        return np.where(inside, np.where(listed, pick, uniform), 0.0)
