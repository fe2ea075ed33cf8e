"""Rows from a fitted mbi graphical model, drawn with a caller's generator.

mbi's own ``synthetic_data`` draws from numpy's process-wide generator, so a trial sampling in one
thread while another trial draws random numbers in another thread would get a different release.
This sampler walks the same junction tree, but every draw comes from the ``numpy.random.Generator``
it is given.

Columns are generated in reverse elimination order; each column is drawn conditionally on the
already generated columns it shares a junction-tree clique with. Within each group of rows that
share those parent values, the draw is stratified: the group's rows, in a random order, take
uniforms ``(rank + U) / group_size`` through the conditional CDF, so every value's count is within
one of its expected count (the variance reduction that mbi's randomised rounding gives).
"""

from __future__ import annotations

import numpy as np

_CHUNK_ROWS = 8192


def sample_codes(model, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """``n`` rows of codes, one array per attribute of ``model.domain``."""
    from trialsynth.synthesisers.model_marginals import Tables

    domain = model.domain
    tables = Tables(model.potentials, float(model.total))  # the junction tree, calibrated in numpy
    cliques = [set(node) for node in tables.nodes]
    codes: dict[str, np.ndarray] = {}
    for column in tables.elimination_order[::-1]:
        neighbours = set().union(*(clique for clique in cliques if column in clique))
        parents = tuple(p for p in codes if p in neighbours)
        table = tables.held(parents + (column,))
        if table is None:  # a junction tree holds a column with its earlier neighbours
            raise AssertionError(f"no node of the junction tree holds {parents + (column,)!r}")
        table = np.clip(np.asarray(table, dtype=float).reshape(-1, domain[column]), 0, None)
        if parents:
            keys = np.ravel_multi_index(tuple(codes[p] for p in parents), [domain[p] for p in parents])
        else:
            keys = np.zeros(n, dtype=np.int64)
        codes[column] = _stratified_draw(keys, _conditional_cdfs(table), rng)
    return {column: codes[column] for column in domain.attributes}


def _conditional_cdfs(table: np.ndarray) -> np.ndarray:
    """Row-wise CDFs of a (parent configuration x value) count table; uniform where a row is empty."""
    totals = table.sum(axis=1, keepdims=True)
    uniform = np.full_like(table, 1 / table.shape[1])
    probabilities = np.divide(table, totals, out=uniform, where=totals > 0)
    cdfs = probabilities.cumsum(axis=1)
    cdfs[:, -1] = 1.0
    return cdfs


def _stratified_draw(keys: np.ndarray, cdfs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    n = keys.size
    groups, inverse, sizes = np.unique(keys, return_inverse=True, return_counts=True)
    order = np.lexsort((rng.random(n), inverse))  # by group, random within a group
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    ranks = np.empty(n, dtype=np.int64)
    ranks[order] = np.arange(n) - starts[inverse[order]]
    uniforms = (ranks + rng.random(n)) / sizes[inverse]
    group_cdfs = cdfs[groups]
    values = np.empty(n, dtype=np.int64)
    for start in range(0, n, _CHUNK_ROWS):
        rows = slice(start, start + _CHUNK_ROWS)
        values[rows] = (group_cdfs[inverse[rows]] < uniforms[rows, None]).sum(axis=1)
    return np.minimum(values, cdfs.shape[1] - 1)
