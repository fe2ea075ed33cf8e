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
from trialsynth.outputs.released import ReleasedOutputs
from trialsynth.synthesisers.ea_generation import children, select
from trialsynth.synthesisers.ea_layout import Layout, Population
from trialsynth.synthesisers.ea_scoring import ModelGroup
from trialsynth.synthesisers.ea_start import initial


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


def mutation_rate_at(generation: int, settings: EaSettings) -> float:
    """Stepped mutation: the rate divided by ``mutation_divisor`` every ``mutation_step`` generations."""
    return settings.mutation_rate / settings.mutation_divisor ** ((generation - 1) // settings.mutation_step)


class EaSearch:
    """One EA run over ``outputs``; ``run(rng)`` returns the best dataset's codes and values."""

    def __init__(self, outputs: ReleasedOutputs, settings: EaSettings):
        self.outputs = outputs
        self.settings = settings
        self.layout = Layout.of(outputs)

    @property
    def groups(self) -> list[ModelGroup]:
        return self.layout.groups

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

    def run(self, rng: np.random.Generator, progress=None) -> SearchResult:
        settings = self.settings
        started = time.perf_counter()
        population = self._population(rng)
        history: list[dict] = []
        stopped_by, generation, mae = "generations", 0, float("nan")
        for generation in range(1, settings.generations + 1):
            self._generation(population, generation, rng)
            if generation % settings.check_every == 0 or generation == settings.generations:
                best = population.best()
                checked = self.check(population.codes[best], population.values[best])
                mae = checked["coef_mae"]
                elapsed = time.perf_counter() - started
                fitness = float(population.fitness[best])
                history.append(
                    {"generation": generation, "fitness": fitness, "seconds": round(elapsed, 3), **checked}
                )
                if progress:
                    progress(history[-1])
                stopped_by = self._stop(checked["anchor_mae"], elapsed) or stopped_by
                if stopped_by != "generations":
                    break
        self.population_ = population  # the final population's bookkeeping, kept for checks
        best = population.best()
        codes, values = population.codes[best], population.values[best]
        if not history or history[-1]["generation"] != generation:
            mae = self.check(codes, values)["coef_mae"]
        return SearchResult(
            codes=codes.copy(),
            values=values.copy(),
            generations=generation,
            fitness=float(population.fitness[best]),
            coef_mae=mae,
            seconds=time.perf_counter() - started,
            history=history,
            stopped_by=stopped_by,
        )

    def _generation(self, population: Population, generation: int, rng: np.random.Generator) -> None:
        """Children proposed, scored and selected; every ``refresh_every`` generations the Newton
        step's H is refreshed from the best candidate and the population rescored."""
        settings = self.settings
        rate = mutation_rate_at(generation, settings)
        crossover = (settings.crossover_rate, settings.crossover_share)
        select(population, children(self.layout, population, rate, crossover, settings.marginal_weight, rng))
        if generation % settings.refresh_every == 0:
            best = population.best()
            for group in self.groups:
                group.refresh(population.codes[best], population.values[best])
            population.fitness[:] = self._fitness(population.scores, population.counts)

    def _stop(self, anchor_mae: float, elapsed: float) -> str | None:
        """Why the search stops at a check (None: it goes on)."""
        if self.settings.target_mae is not None and anchor_mae <= self.settings.target_mae:
            return "target"
        if self.settings.max_seconds is not None and elapsed >= self.settings.max_seconds:
            return "time"
        return None

    def _fitness(self, scores: list[np.ndarray], counts: np.ndarray) -> np.ndarray:
        return self.layout.fitness(scores, counts, self.settings.marginal_weight)

    def _counts(self, codes: np.ndarray) -> np.ndarray:
        return self.layout.counts(codes)

    def _population(self, rng: np.random.Generator) -> Population:
        """The first generation, scored (the Newton step's H from its first candidate)."""
        first = [initial(self.layout, self.settings.init, rng) for _ in range(self.settings.population)]
        codes = np.stack([c for c, _ in first])
        values = np.stack([v for _, v in first])
        for group in self.groups:
            group.refresh(codes[0], values[0])
        residuals = [np.stack([g.residual(c, v) for c, v in first]) for g in self.groups]
        scores = [
            np.stack([g.score(c, v, r) for (c, v), r in zip(first, res, strict=True)])
            for g, res in zip(self.groups, residuals, strict=True)
        ]
        counts = np.stack([self._counts(c) for c, _ in first])
        return Population(codes, values, residuals, scores, counts, self._fitness(scores, counts))
