"""One generation of the EA: parents by binary tournament, children as the rows they change
(a record-swap crossover block and mutated cells), scored from their parents' bookkeeping
without a refit, and (mu + lambda) selection in place."""

from __future__ import annotations

import numpy as np

from trialsynth.synthesisers.ea_layout import Children, Layout, Population
from trialsynth.synthesisers.ea_scoring import score_change


def tournament(fitness: np.ndarray, rng: np.random.Generator) -> int:
    """The fitter of two candidates drawn at random."""
    a, b = rng.integers(0, len(fitness), 2)
    return int(a if fitness[a] <= fitness[b] else b)


def propose(
    layout: Layout,
    population: Population,
    rate: float,
    crossover: tuple[float, float],
    rng: np.random.Generator,
) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    """Each child's parent and the rows it changes, with their new codes and values.
    ``crossover``: the crossover rate and the largest share of rows a swapped block holds."""
    codes, values, fitness = population.codes, population.values, population.fitness
    n_rows, n_variables = layout.n_rows, layout.n_variables
    crossover_rate, crossover_share = crossover
    n_children = len(fitness)
    parents = np.empty(n_children, dtype=np.int64)
    rows_of, codes_of, values_of = [], [], []
    block_limit = max(1, int(n_rows * crossover_share))
    for child in range(n_children):
        parent = tournament(fitness, rng)
        parents[child] = parent
        k = max(1, int(rng.binomial(n_rows * n_variables, min(rate, 1.0))))
        mutated_rows = rng.integers(0, n_rows, k)
        mutated_variables = rng.integers(0, n_variables, k)
        block = np.empty(0, dtype=np.int64)
        if rng.random() < crossover_rate:
            other = tournament(fitness, rng)
            length = int(rng.integers(1, block_limit + 1))
            start = int(rng.integers(0, n_rows - length + 1))
            block = np.arange(start, start + length)
        rows = np.unique(np.concatenate([block, mutated_rows]))
        new_codes, new_values = codes[parent, rows].copy(), values[parent, rows].copy()
        if len(block):
            at = np.searchsorted(rows, block)
            new_codes[at], new_values[at] = codes[other, block], values[other, block]
        at = np.searchsorted(rows, mutated_rows)
        drawn = layout.draw(mutated_variables, rng)
        new_codes[at, mutated_variables] = drawn
        slot = layout.slot_of[mutated_variables]
        cont = slot >= 0
        new_values[at[cont], slot[cont]] = layout.bins.draw(
            mutated_variables[cont], drawn[cont].astype(np.int64), rng
        )
        rows_of.append(rows)
        codes_of.append(new_codes)
        values_of.append(new_values)
    return parents, rows_of, codes_of, values_of


def children(
    layout: Layout,
    population: Population,
    rate: float,
    crossover: tuple[float, float],
    marginal_weight: float,
    rng: np.random.Generator,
) -> Children:
    """Every child of this generation as changed rows only, scored in one batch."""
    parents, rows_of, codes_of, values_of = propose(layout, population, rate, crossover, rng)
    n_children = len(parents)
    owner = np.repeat(np.arange(n_children), [len(r) for r in rows_of])
    rows = np.concatenate(rows_of)
    new, new_values = np.concatenate(codes_of), np.concatenate(values_of)
    old = population.codes[parents[owner], rows]
    old_values = population.values[parents[owner], rows]
    child_scores, child_residuals = [], []
    for group, res, sc in zip(layout.groups, population.residuals, population.scores, strict=True):
        r_new = group.residual(new, new_values)
        r_old = res[parents[owner], rows]
        child_residuals.append(r_new)
        change = score_change(group, owner, n_children, (new, new_values, r_new), (old, old_values, r_old))
        child_scores.append(sc[parents] + change)
    base = (owner * layout.n_codes)[:, None]
    size = n_children * layout.n_codes
    delta = np.bincount((new + layout.offsets + base).ravel(), minlength=size)
    delta -= np.bincount((old + layout.offsets + base).ravel(), minlength=size)
    child_counts = population.counts[parents] + delta.reshape(n_children, layout.n_codes)
    return Children(
        parents=parents,
        owner=owner,
        rows=rows,
        codes=new,
        values=new_values,
        residuals=child_residuals,
        scores=child_scores,
        counts=child_counts,
        fitness=layout.fitness(child_scores, child_counts, marginal_weight),
    )


def select(population: Population, children: Children) -> None:
    """(mu + lambda): the best of parents and children fill the population, in place."""
    fitness = population.fitness
    size = len(fitness)
    ranked = np.argsort(np.concatenate([fitness, children.fitness]), kind="stable")[:size]
    keep = {int(i) for i in ranked if i < size}
    winners = [int(i) - size for i in ranked if i >= size]
    if not winners:
        return
    built = []
    for c in winners:
        p = int(children.parents[c])
        mine = children.owner == c
        rows = children.rows[mine]
        codes, values = population.codes[p].copy(), population.values[p].copy()
        codes[rows], values[rows] = children.codes[mine], children.values[mine]
        residuals = []
        for k, res in enumerate(population.residuals):
            r = res[p].copy()
            r[rows] = children.residuals[k][mine]
            residuals.append(r)
        built.append((c, codes, values, residuals))
    free = [i for i in range(size) if i not in keep]
    for slot, (c, codes, values, residuals) in zip(free, built, strict=True):
        population.codes[slot], population.values[slot] = codes, values
        for k in range(len(residuals)):
            population.residuals[k][slot] = residuals[k]
            population.scores[k][slot] = children.scores[k][c]
        population.counts[slot] = children.counts[c]
        fitness[slot] = children.fitness[c]
