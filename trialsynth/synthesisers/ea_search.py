"""The evolutionary search behind ``ea``: a population of whole datasets, scored on released outputs.

A candidate is a dataset held as integer codes (rows x variables: categories, histogram bins of
continuous variables, missing values as the last code) plus, for continuous cells, the value
inside the bin (drawn at the column's released precision when the bin is chosen), so that the
released file is exactly the dataset that was scored. Each generation:

1. **selection**: parents by binary tournament on fitness;
2. **crossover** (with probability ``crossover_rate``): a record swap: a random block of up to
   ``crossover_share`` of the rows is taken, row for row, from a second parent;
3. **mutation**: cells drawn at rate ``mutation_rate`` (at least one per child) get a new code
   drawn from the released proportions; the rate is divided by ``mutation_divisor`` every
   ``mutation_step`` generations (the paper's stepped mutation);
4. **elitism**: parents and children compete and the best ``population`` survive.

Fitness is the paper's: the mean squared error between the released coefficients and those of
the candidate (plus, weighted by ``marginal_weight``, the squared error of its category and bin
proportions against the released ones). With several sources releasing the same model, each
source's squared error on a coefficient is weighted by its released precision (1/SE^2, scaled to
average 1), so the optimum is the precision-weighted mean of the sources' coefficients rather
than their plain mean: on experiment 1's split this moved the attainable optimum from 0.0067 to
0.0023 MAE from the combined original's coefficients. Without standard errors (or with one
source) the weights are all 1, the paper's fitness.

Refitting every model on every child would cost O(rows x terms^2) each time, so the synthetic
coefficients are taken one Newton step from the released ones:
beta = beta_released + H^-1 X'(y - mu(beta_released)). That step is exact for a linear model and
second-order accurate for a logistic one near the optimum; it is zero exactly when the released
coefficients solve the candidate's score equations, i.e. are its MLE. The score X'(y - mu) is a
sum over rows, so a child's score is its parent's plus the change in the rows it altered: no
child is refitted, or even copied unless it survives. H comes from the current best candidate,
refreshed every ``refresh_every`` generations; every ``check_every`` generations the best
candidate is refitted exactly (safeguarded Newton), which is what the stopping rule
(``target_mae``, on the MAE to the attainable optimum: the weighted mean of the sources'
coefficients) and the reported history use.

``init="marginals"`` starts, as the paper does, from variables drawn independently from the
released proportions. ``init="model"`` (the default, a hybrid start the paper's future work
asks for) draws the covariates that way and then each outcome from a model calibrated so that
every released model of it holds in expectation, which starts the search near the root.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from trialsynth import defaults
from trialsynth.outputs.regression import fit_linear, fit_logistic
from trialsynth.outputs.released import ReleasedOutputs
from trialsynth.synthesisers.ea_scoring import ModelGroup, score_change, sigmoid
from trialsynth.synthesisers.ea_values import BinValues


@dataclass(frozen=True)
class EaSettings:
    population: int = 32
    generations: int = defaults.EA_GENERATIONS
    mutation_rate: float = 2e-4
    mutation_step: int = 250
    mutation_divisor: float = 3.0
    crossover_rate: float = 0.5
    crossover_share: float = 0.02
    marginal_weight: float = 1.0
    init: str = "model"
    target_mae: float | None = None
    check_every: int = 25
    refresh_every: int = 50
    max_seconds: float | None = None


@dataclass
class SearchResult:
    codes: np.ndarray
    values: np.ndarray  # continuous variables' values, in order of appearance (0 where missing)
    generations: int
    fitness: float
    coef_mae: float
    seconds: float
    history: list[dict] = field(default_factory=list)
    stopped_by: str = "generations"


@dataclass
class Population:
    """The EA's population: every candidate's codes and values, and the bookkeeping that scores
    a child from its parent - residuals and scores per model group, code counts, fitness.
    Updated in place by selection."""

    codes: np.ndarray  # candidates x rows x variables
    values: np.ndarray  # candidates x rows x continuous variables
    residuals: list[np.ndarray]  # per model group: candidates x rows
    scores: list[np.ndarray]  # per model group: candidates x terms
    counts: np.ndarray  # candidates x all codes
    fitness: np.ndarray  # candidates

    def best(self) -> int:
        return int(np.argmin(self.fitness))


@dataclass
class Children:
    """One generation's children as the rows they change in their parents, already scored."""

    parents: np.ndarray  # child -> parent candidate
    owner: np.ndarray  # changed row -> child
    rows: np.ndarray
    codes: np.ndarray
    values: np.ndarray
    residuals: list[np.ndarray]
    scores: list[np.ndarray]
    counts: np.ndarray
    fitness: np.ndarray


def mutation_rate_at(generation: int, settings: EaSettings) -> float:
    """Stepped mutation: the rate divided by ``mutation_divisor`` every ``mutation_step`` generations."""
    return settings.mutation_rate / settings.mutation_divisor ** ((generation - 1) // settings.mutation_step)


class EaSearch:
    """One EA run over ``outputs``; ``run(rng)`` returns the best dataset's codes and values."""

    def __init__(self, outputs: ReleasedOutputs, settings: EaSettings):
        self.outputs = outputs
        self.settings = settings
        self.variables = list(outputs.variables)
        self.n = outputs.n_rows
        self.v = len(self.variables)
        index = {v.name: i for i, v in enumerate(self.variables)}
        self.continuous = [i for i, v in enumerate(self.variables) if v.kind == "continuous"]
        value_slot = {i: k for k, i in enumerate(self.continuous)}
        self.slot_of = np.full(self.v, -1, dtype=np.int64)
        self.slot_of[self.continuous] = np.arange(len(self.continuous))
        groups: dict[tuple, list] = {}
        for model in outputs.models:
            groups.setdefault(model.spec, []).append(model)
        self.groups = [ModelGroup(models, index, self.variables, value_slot) for models in groups.values()]
        self.n_coefficients = sum(g.targets.size for g in self.groups)
        self.bins = BinValues(self.variables, self.continuous)
        sizes = [v.n_codes for v in self.variables]
        self.all_offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        self.all_codes = int(sum(sizes))
        self.proportions = np.concatenate([np.asarray(v.proportions, dtype=float) for v in self.variables])
        self.cdf = np.ones((self.v, max(sizes)))
        for i, v in enumerate(self.variables):
            self.cdf[i, : v.n_codes] = np.cumsum(v.proportions)
            self.cdf[i, v.n_codes - 1 :] = 1.0

    # -- initialisation -------------------------------------------------------------------------
    def _draw(self, var: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        u = rng.random(var.shape)
        return (u[..., None] > self.cdf[var]).sum(axis=-1).astype(np.int16)

    def _values(self, codes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        var = np.broadcast_to(np.asarray(self.continuous, dtype=np.int64), (len(codes), len(self.continuous)))
        return self.bins.draw(var, codes[:, self.continuous].astype(np.int64), rng)

    def _initial(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        codes = self._draw(np.broadcast_to(np.arange(self.v), (self.n, self.v)), rng)
        values = self._values(codes, rng)
        if self.settings.init == "marginals":
            return codes, values
        by_outcome: dict[int, list[ModelGroup]] = {}
        for group in self.groups:
            by_outcome.setdefault(group.outcome, []).append(group)
        for outcome, groups in by_outcome.items():
            variable = self.variables[outcome]
            eta = self._joint_predictor(groups, codes, values)
            if groups[0].family == "logistic":
                drawn = (rng.random(self.n) < sigmoid(eta)).astype(np.int16)
            else:
                edges = np.asarray(variable.edges)
                mids = np.asarray(variable.midpoints())
                p = np.asarray(variable.proportions[: len(mids)])
                p = p / p.sum()
                spread = max(np.sum(p * mids**2) - np.sum(p * mids) ** 2 - np.var(eta), 0.05 * np.var(mids))
                drawn_values = np.round(
                    np.clip(eta + rng.normal(0.0, np.sqrt(spread), self.n), edges[0], edges[-1]),
                    variable.decimals,
                )
                drawn = np.clip(np.digitize(drawn_values, edges[1:-1]), 0, len(mids) - 1).astype(np.int16)
                values[:, self.slot_of[outcome]] = drawn_values
            if variable.has_missing:
                missing = rng.random(self.n) < variable.proportions[-1]
                drawn = np.where(missing, variable.n_codes - 1, drawn)
                if variable.kind == "continuous":
                    values[missing, self.slot_of[outcome]] = 0.0
            codes[:, outcome] = drawn
        return codes, values

    @staticmethod
    def _joint_predictor(
        groups: list[ModelGroup], codes: np.ndarray, values: np.ndarray, rounds: int = 8
    ) -> np.ndarray:
        """One outcome's expected linear predictor, built so that each released model of it
        holds on these covariates in expectation.

        Start from every model's coefficients (a term several models share split between them),
        then repeat: refit each model on the expected outcome (probabilities, or the linear
        predictor) and move its share by the gap to the released coefficients. With one model
        this just re-centres it; with models of one outcome on different predictors (the
        paper's experiment 4) it recovers joint effects the marginal coefficients understate.
        """
        counts: dict[str, int] = {}
        for group in groups:
            for name in group.terms:
                counts[name] = counts.get(name, 0) + 1
        designs = [group.full_design(codes, values) for group in groups]
        shares = [g.anchor / np.array([counts[t] for t in g.terms]) for g in groups]
        family = groups[0].family
        for _ in range(rounds):
            eta = sum(x @ theta for x, theta in zip(designs, shares, strict=True))
            for k, (group, x) in enumerate(zip(groups, designs, strict=True)):
                if family == "logistic":
                    fitted = fit_logistic(x, sigmoid(eta), beta=group.anchor, max_iter=8)[0]
                else:
                    fitted = fit_linear(x, eta)
                shares[k] = shares[k] + (group.anchor - fitted)
        return sum(x @ theta for x, theta in zip(designs, shares, strict=True))

    # -- fitness ----------------------------------------------------------------------------------
    def _fitness(self, scores: list[np.ndarray], counts: np.ndarray) -> np.ndarray:
        total = np.zeros(counts.shape[0])
        for group, g in zip(self.groups, scores, strict=True):
            beta = group.anchor + g @ group.h_inverse.T
            total += (group.weights[None] * (beta[:, None, :] - group.targets[None]) ** 2).sum(axis=(1, 2))
        fitness = total / self.n_coefficients
        if self.settings.marginal_weight:
            margins = ((counts / self.n - self.proportions) ** 2).sum(axis=1) / self.v
            fitness = fitness + self.settings.marginal_weight * margins
        return fitness

    def check(self, codes: np.ndarray, values: np.ndarray) -> dict:
        """Exact refits of one candidate: its coefficients, their MAE against every released
        coefficient (``coef_mae``, the paper's measure) and against the attainable optimum, the
        mean of the sources' coefficients for each specification (``anchor_mae``; the same
        thing for a single source)."""
        fits = [group.exact(codes, values) for group in self.groups]
        released = np.concatenate(
            [np.abs(f[None] - g.targets).ravel() for f, g in zip(fits, self.groups, strict=True)]
        )
        anchor = np.concatenate([np.abs(f - g.anchor) for f, g in zip(fits, self.groups, strict=True)])
        return {
            "coef_mae": float(np.mean(released)),
            "anchor_mae": float(np.mean(anchor)),
            "coefficients": [f.tolist() for f in fits],
        }

    def _counts(self, codes: np.ndarray) -> np.ndarray:
        return np.bincount((codes + self.all_offsets).ravel(), minlength=self.all_codes)

    # -- the run ------------------------------------------------------------------------------------
    def run(self, rng: np.random.Generator, progress=None) -> SearchResult:
        s = self.settings
        started = time.perf_counter()
        population = self._population(rng)
        codes, values = population.codes, population.values
        history: list[dict] = []
        stopped_by, generation, mae = "generations", 0, float("nan")
        for generation in range(1, s.generations + 1):
            rate = mutation_rate_at(generation, s)
            self._select(population, self._children(population, rate, rng))
            fitness = population.fitness
            best = population.best()
            if generation % s.refresh_every == 0:
                for group in self.groups:
                    group.refresh(codes[best], values[best])
                fitness[:] = self._fitness(population.scores, population.counts)
                best = population.best()
            if generation % s.check_every == 0 or generation == s.generations:
                checked = self.check(codes[best], values[best])
                mae = checked["coef_mae"]
                elapsed = time.perf_counter() - started
                history.append(
                    {
                        "generation": generation,
                        "fitness": float(fitness[best]),
                        "seconds": round(elapsed, 3),
                        **checked,
                    }
                )
                if progress:
                    progress(history[-1])
                if s.target_mae is not None and checked["anchor_mae"] <= s.target_mae:
                    stopped_by = "target"
                    break
                if s.max_seconds is not None and elapsed >= s.max_seconds:
                    stopped_by = "time"
                    break
        self.population_ = population  # the final population's bookkeeping, kept for checks
        best = population.best()
        if not history or history[-1]["generation"] != generation:
            mae = self.check(codes[best], values[best])["coef_mae"]
        return SearchResult(
            codes=codes[best].copy(),
            values=values[best].copy(),
            generations=generation,
            fitness=float(population.fitness[best]),
            coef_mae=mae,
            seconds=time.perf_counter() - started,
            history=history,
            stopped_by=stopped_by,
        )

    def _population(self, rng: np.random.Generator) -> Population:
        """The first generation, scored (the Newton step's H from its first candidate)."""
        initial = [self._initial(rng) for _ in range(self.settings.population)]
        codes = np.stack([c for c, _ in initial])
        values = np.stack([v for _, v in initial])
        for group in self.groups:
            group.refresh(codes[0], values[0])
        residuals = [np.stack([g.residual(c, v) for c, v in initial]) for g in self.groups]
        scores = [
            np.stack([g.score(c, v, r) for (c, v), r in zip(initial, res, strict=True)])
            for g, res in zip(self.groups, residuals, strict=True)
        ]
        counts = np.stack([self._counts(c) for c, _ in initial])
        return Population(codes, values, residuals, scores, counts, self._fitness(scores, counts))

    def _tournament(self, fitness: np.ndarray, rng: np.random.Generator) -> int:
        a, b = rng.integers(0, len(fitness), 2)
        return int(a if fitness[a] <= fitness[b] else b)

    def _children(self, population: Population, rate: float, rng: np.random.Generator) -> Children:
        """Every child of this generation as changed rows only, scored in one batch."""
        s = self.settings
        codes, values, fitness = population.codes, population.values, population.fitness
        lam = s.population
        parents = np.empty(lam, dtype=np.int64)
        rows_of, codes_of, values_of = [], [], []
        block_limit = max(1, int(self.n * s.crossover_share))
        for c in range(lam):
            p = self._tournament(fitness, rng)
            parents[c] = p
            k = max(1, int(rng.binomial(self.n * self.v, min(rate, 1.0))))
            m_rows = rng.integers(0, self.n, k)
            m_vars = rng.integers(0, self.v, k)
            block = np.empty(0, dtype=np.int64)
            if rng.random() < s.crossover_rate:
                q = self._tournament(fitness, rng)
                length = int(rng.integers(1, block_limit + 1))
                start = int(rng.integers(0, self.n - length + 1))
                block = np.arange(start, start + length)
            rows = np.unique(np.concatenate([block, m_rows]))
            new_codes, new_values = codes[p, rows].copy(), values[p, rows].copy()
            if len(block):
                at = np.searchsorted(rows, block)
                new_codes[at], new_values[at] = codes[q, block], values[q, block]
            at = np.searchsorted(rows, m_rows)
            drawn = self._draw(m_vars, rng)
            new_codes[at, m_vars] = drawn
            slot = self.slot_of[m_vars]
            cont = slot >= 0
            new_values[at[cont], slot[cont]] = self.bins.draw(m_vars[cont], drawn[cont].astype(np.int64), rng)
            rows_of.append(rows)
            codes_of.append(new_codes)
            values_of.append(new_values)
        owner = np.repeat(np.arange(lam), [len(r) for r in rows_of])
        rows = np.concatenate(rows_of)
        new, new_values = np.concatenate(codes_of), np.concatenate(values_of)
        old, old_values = codes[parents[owner], rows], values[parents[owner], rows]
        child_scores, child_residuals = [], []
        for group, res, sc in zip(self.groups, population.residuals, population.scores, strict=True):
            r_new = group.residual(new, new_values)
            r_old = res[parents[owner], rows]
            child_residuals.append(r_new)
            change = score_change(group, owner, lam, (new, new_values, r_new), (old, old_values, r_old))
            child_scores.append(sc[parents] + change)
        base = (owner * self.all_codes)[:, None]
        delta = np.bincount((new + self.all_offsets + base).ravel(), minlength=lam * self.all_codes)
        delta -= np.bincount((old + self.all_offsets + base).ravel(), minlength=lam * self.all_codes)
        child_counts = population.counts[parents] + delta.reshape(lam, self.all_codes)
        return Children(
            parents=parents,
            owner=owner,
            rows=rows,
            codes=new,
            values=new_values,
            residuals=child_residuals,
            scores=child_scores,
            counts=child_counts,
            fitness=self._fitness(child_scores, child_counts),
        )

    def _select(self, population: Population, children: Children) -> None:
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
