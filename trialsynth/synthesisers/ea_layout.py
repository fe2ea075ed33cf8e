"""What an EA search works on: the released outputs laid out as integer codes (``Layout``),
the population, and one generation's children (``ea_search`` explains the search)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trialsynth.outputs.released import ReleasedOutputs
from trialsynth.synthesisers.ea_copula import Copula
from trialsynth.synthesisers.ea_scoring import ModelGroup
from trialsynth.synthesisers.ea_values import BinValues


@dataclass
class Layout:
    """The released outputs as the search reads them: each variable's codes and proportions,
    where continuous variables' values sit, and the model groups a candidate is scored on."""

    variables: list
    n_rows: int
    continuous: list[int]  # variables with values inside their bins
    slot_of: np.ndarray  # variable -> its column among the values (-1: none)
    groups: list[ModelGroup]
    bins: BinValues
    offsets: np.ndarray  # variable -> its first code among all codes
    proportions: np.ndarray  # released proportion of every code of every variable
    cdf: np.ndarray  # variables x codes
    copula: Copula | None = None  # the released associations, for the first generation

    @property
    def n_variables(self) -> int:
        return len(self.variables)

    @property
    def n_codes(self) -> int:
        return int(self.proportions.size)

    @property
    def n_coefficients(self) -> int:
        return sum(group.targets.size for group in self.groups)

    @classmethod
    def of(cls, outputs: ReleasedOutputs) -> Layout:
        variables = list(outputs.variables)
        index = {v.name: i for i, v in enumerate(variables)}
        continuous = [i for i, v in enumerate(variables) if v.kind == "continuous"]
        value_slot = {i: k for k, i in enumerate(continuous)}
        slot_of = np.full(len(variables), -1, dtype=np.int64)
        slot_of[continuous] = np.arange(len(continuous))
        specs: dict[tuple, list] = {}
        for model in outputs.models:
            specs.setdefault(model.spec, []).append(model)
        groups = [ModelGroup(models, index, variables, value_slot) for models in specs.values()]
        sizes = [v.n_codes for v in variables]
        cdf = np.ones((len(variables), max(sizes)))
        for i, v in enumerate(variables):
            cdf[i, : v.n_codes] = np.cumsum(v.proportions)
            cdf[i, v.n_codes - 1 :] = 1.0
        return cls(
            variables=variables,
            n_rows=outputs.n_rows,
            continuous=continuous,
            slot_of=slot_of,
            groups=groups,
            bins=BinValues(variables, continuous),
            offsets=np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64),
            proportions=np.concatenate([np.asarray(v.proportions, dtype=float) for v in variables]),
            cdf=cdf,
            copula=Copula.of(outputs),
        )

    def draw(self, variable: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """A code for each entry of ``variable`` (variable indices), from its released proportions."""
        u = rng.random(variable.shape)
        return (u[..., None] > self.cdf[variable]).sum(axis=-1).astype(np.int16)

    def values(self, codes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """A value inside each continuous cell's bin, for every row of ``codes``."""
        shape = (len(codes), len(self.continuous))
        variable = np.broadcast_to(np.asarray(self.continuous, dtype=np.int64), shape)
        return self.bins.draw(variable, codes[:, self.continuous].astype(np.int64), rng)

    def counts(self, codes: np.ndarray) -> np.ndarray:
        """How often each code of each variable occurs in one candidate."""
        return np.bincount((codes + self.offsets).ravel(), minlength=self.n_codes)

    def fitness(self, scores: list[np.ndarray], counts: np.ndarray, marginal_weight: float) -> np.ndarray:
        """The paper's fitness of each candidate: the mean squared error of its (one Newton step)
        coefficients against the released ones, plus ``marginal_weight`` x the squared error of
        its proportions."""
        total = np.zeros(counts.shape[0])
        for group, g in zip(self.groups, scores, strict=True):
            beta = group.anchor + g @ group.h_inverse.T
            total += (group.weights[None] * (beta[:, None, :] - group.targets[None]) ** 2).sum(axis=(1, 2))
        fitness = total / self.n_coefficients
        if marginal_weight:
            margins = ((counts / self.n_rows - self.proportions) ** 2).sum(axis=1) / self.n_variables
            fitness = fitness + marginal_weight * margins
        return fitness


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
