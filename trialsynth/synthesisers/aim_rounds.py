"""AIM's measurements, steps 2-4 of ``aim``: the one-way marginals and their compression, the
analysis's marginals, and the adaptive rounds - each round scores the candidates against the
current model's exact marginals (``scores``), chooses a batch by the exponential mechanism
within the size cap (``select_feasible``), measures it and re-estimates the model; annealing
when the batch no longer moves it. Every privacy-relevant draw comes from ``noise``."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from trialsynth.dp.noise import Noise
from trialsynth.synthesisers.marginal_models import compression
from trialsynth.synthesisers.model_marginals import Tables, exact_marginals

log = logging.getLogger(__name__)

ALPHA = 0.9  # share of a round's budget that pays for the measurement (the paper's alpha)
SCORE_SENSITIVITY = 2.0  # replace-one: the L1 distance of a marginal moves by at most 2
EXPECTED_NOISE = math.sqrt(2 / math.pi)  # E|N(0, 1)|

Clique = tuple[str, ...]


class Timer:
    """Seconds spent per part of the fit (measure, estimate, score, select), summed."""

    def __init__(self) -> None:
        self.seconds = {"measure": 0.0, "estimate": 0.0, "score": 0.0, "select": 0.0}

    @contextmanager
    def __call__(self, part: str) -> Iterator[None]:
        start = time.monotonic()
        try:
            yield
        finally:
            self.seconds[part] += time.monotonic() - start


@dataclass(frozen=True)
class Limits:
    """When the rounds stop and what each may use (``AimSynthesiser``'s settings)."""

    batch: int
    max_rounds: int
    time_budget: float
    max_model_size: float
    round_iterations: int
    final_iterations: int
    started: float  # time.monotonic() at the start of the fit


@dataclass
class Measured:
    """What AIM has measured and spent so far (rho), and its current model."""

    dataset: Any  # the compressed mbi.Dataset (real counts: never recorded)
    answers: dict[Clique, np.ndarray] = field(repr=False)  # each candidate's true marginal
    measurements: list = field(default_factory=list, repr=False)
    spent: float = 0.0
    chosen: list[Clique] = field(default_factory=list)
    model: Any = None
    rounds: list[dict[str, Any]] = field(default_factory=list)
    _tables: tuple[Any, Tables] | None = field(default=None, repr=False)

    def size(self, clique: Clique) -> int:
        return self.answers[clique].size

    def marginals(self, cliques: list[Clique]) -> dict[Clique, np.ndarray]:
        """The current model's exact marginals (its calibrated tree built once per model)."""
        if self._tables is None or self._tables[0] is not self.model:
            self._tables = (self.model, Tables(self.model.potentials, float(self.model.total)))
        return exact_marginals(self.model, cliques, self._tables[1])


def sigma_one_way(planned: int, d: int, alpha: float, rho: float) -> float:
    """sigma_0 of T planned rounds and d one-way marginals on rho: T + d measurements share
    alpha rho (each 1 / sigma_0^2), the T selections the rest."""
    return math.sqrt((planned + d) / (alpha * rho))


def measure_one_way(
    mbi: Any, full: Any, scheme: dict, n: int, levels: int, sigma: float, noise: Noise
) -> tuple[Any, dict, dict, list]:
    """Every one-way marginal at ``sigma``, then the compression of rare values (noisy count under
    3 sigma) and of a continuous column's bins into about ``levels`` groups of n / levels noisy
    pupils (post-processing); returns the compressed dataset, the mapping, each column's noisy
    one-way counts (over the bins' codes) and the measurements on the compressed domain."""
    columns = list(full.domain.attributes)
    one_way = {
        c: np.asarray(full.project((c,)).datavector(), dtype=float)
        + noise.discrete_gaussian(sigma, full.domain[c])
        for c in columns
    }
    threshold = {c: max(3 * sigma, n / levels) if scheme[c].edges is not None else 3 * sigma for c in columns}
    mapping = {c: compression(one_way[c], threshold[c], scheme[c]) for c in columns}
    measurements = [
        mbi.LinearMeasurement(one_way[c], (c,), sigma).compress(mapping, full.domain) for c in columns
    ]
    return full.compress(mapping), mapping, one_way, measurements


def measure_analysis(
    mbi: Any, state: Measured, analysis: dict[Clique, float], rho: float, noise: Noise
) -> list[dict[str, Any]]:
    """The analysis's marginals (trial workload), measured at the start with ``rho`` shared in
    proportion to their weights (each costs 1/sigma_k^2); returns what each was measured at."""
    initial: list[dict[str, Any]] = []
    total_weight = sum(analysis.values())
    for clique, weight in analysis.items():
        sigma_k = math.sqrt(1 / (rho * weight / total_weight))
        noisy = state.answers[clique] + noise.discrete_gaussian(sigma_k, state.size(clique))
        state.measurements.append(mbi.LinearMeasurement(noisy, clique, sigma_k))
        state.spent += 1 / sigma_k**2
        initial.append({"clique": list(clique), "sigma": round(sigma_k, 6)})
    return initial


def scores(state: Measured, weights: dict[Clique, float], sigma: float) -> np.ndarray:
    """AIM's quality score of each candidate against the current model: w_r (||M_r(D) - M_r(p)||_1
    - sqrt(2/pi) sigma n_r), the model's marginals exact (``model_marginals``)."""
    candidates = list(weights)
    estimates = state.marginals(candidates)
    return np.array(
        [
            weights[r]
            * (np.abs(state.answers[r] - estimates[r]).sum() - EXPECTED_NOISE * sigma * state.size(r))
            for r in candidates
        ]
    )


def select_feasible(
    mbi: Any,
    domain: Any,
    chosen: list[Clique],
    candidates: list[Clique],
    scores: np.ndarray,
    epsilon: float,
    sensitivity: float,
    noise: Noise,
    size_limit: float,
) -> Clique:
    """The exponential mechanism over the candidates that keep the model within ``size_limit`` MB:
    Gumbel-max over all, then the best noisy score among the feasible ones (the same draw)."""
    noisy = epsilon * scores / (2 * sensitivity) + noise.gumbel(scores.size)
    held = [set(c) for c in chosen]
    for index in np.argsort(-noisy):
        clique = candidates[int(index)]
        if any(set(clique) <= h for h in held):
            return clique
        if mbi.junction_tree.hypothetical_model_size(domain, [*chosen, clique]) <= size_limit:
            return clique
    raise AssertionError("unreachable: every one-way marginal is held by the model")


@dataclass(frozen=True)
class Mechanism:
    """What every round uses: mbi, the noise, the candidates' weights and the budget rho."""

    mbi: Any
    estimator: Any
    noise: Noise
    weights: dict[Clique, float]
    rho: float
    n: int
    timer: Timer

    def estimate(self, state: Measured, iterations: int) -> Any:
        with self.timer("estimate"):
            warm = {} if state.model is None else {"warm_start": state.model.potentials}
            domain = state.dataset.domain
            return self.estimator.estimate(
                domain, state.measurements, known_total=self.n, iters=iterations, **warm
            )


def measure_batch(
    mech: Mechanism,
    state: Measured,
    scored: np.ndarray,
    sigma: float,
    epsilon_t: float,
    limits: Limits,
) -> list[Clique]:
    """``limits.batch`` marginals chosen one after another (one exponential mechanism each,
    without repeats) and measured at ``sigma``; each costs 1/sigma^2 + epsilon_t^2/8."""
    candidates = list(mech.weights)
    sensitivity = SCORE_SENSITIVITY * max(mech.weights.values(), default=1.0)
    picks: list[Clique] = []
    for _ in range(limits.batch):
        with mech.timer("select"):
            state.spent = min(state.spent + 1 / sigma**2 + epsilon_t**2 / 8, mech.rho)
            limit = limits.max_model_size * state.spent / mech.rho
            open_ = [i for i, r in enumerate(candidates) if r not in picks]
            pick = select_feasible(
                mech.mbi, state.dataset.domain, state.chosen, [candidates[i] for i in open_],
                scored[open_], epsilon_t, sensitivity, mech.noise, limit,
            )  # fmt: skip
        with mech.timer("measure"):
            noisy = state.answers[pick] + mech.noise.discrete_gaussian(sigma, state.size(pick))
            state.measurements.append(mech.mbi.LinearMeasurement(noisy, pick, sigma))
            picks.append(pick)
            if pick not in state.chosen:
                state.chosen.append(pick)
    return picks


def adaptive_rounds(mech: Mechanism, state: Measured, sigma: float, epsilon_t: float, limits: Limits) -> str:
    """Rounds until rho is spent (step 3), annealing (step 4); the last round spends what is left.
    Returns what stopped them: ``budget``, ``max_rounds`` or ``time_budget``."""
    stopped_by, number = "budget", 0
    while state.spent < mech.rho * (1 - 1e-12):
        left = mech.rho - state.spent
        last = left <= 2 * limits.batch * (1 / sigma**2 + epsilon_t**2 / 8)
        if number + 1 >= limits.max_rounds:
            last, stopped_by = True, "max_rounds"
        elif time.monotonic() - limits.started >= limits.time_budget:
            last, stopped_by = True, "time_budget"
        if last:  # what is left, shared by the batch's marginals
            sigma = math.sqrt(limits.batch / (ALPHA * left))
            epsilon_t = math.sqrt(8 * (1 - ALPHA) * left / limits.batch)
        number += 1
        with mech.timer("score"):
            scored = scores(state, mech.weights, sigma)
        picks = measure_batch(mech, state, scored, sigma, epsilon_t, limits)
        if last:
            state.spent = mech.rho  # the last batch's shares sum to what was left
        before = state.marginals(picks)
        state.model = mech.estimate(state, limits.final_iterations if last else limits.round_iterations)
        still = _record_round(state, picks, before, number, sigma, epsilon_t)
        log.info("AIM round %d: %s (sigma %.3g)", number, "; ".join(" x ".join(r) for r in picks), sigma)
        if last:
            break
        if 2 * still >= len(picks):  # half the batch no longer moves the model: anneal
            sigma, epsilon_t = sigma / 2, epsilon_t * 2
    return stopped_by


def _record_round(
    state: Measured, picks: list[Clique], before: dict, number: int, sigma: float, epsilon_t: float
) -> int:
    """Each pick's round record (did the new model's marginal move by more than the noise would
    explain?); returns how many did not move."""
    still = 0
    after_all = state.marginals(picks)
    for r in picks:
        after = after_all[r]
        moved = bool(np.abs(after - before[r]).sum() > EXPECTED_NOISE * sigma * state.size(r))
        still += not moved
        state.rounds.append(
            {
                "round": number,
                "clique": list(r),
                "sigma": round(sigma, 6),
                "epsilon": round(epsilon_t, 6),
                "moved": moved,
            }
        )
    return still


def budget_parts(
    budget: Any, one_way: float, initial: list[dict[str, Any]], rounds: list[dict[str, Any]]
) -> Any:
    """The budget with what AIM spent: the domain's share, the atoms' selection, the one-way
    marginals, the analysis's marginals, the rounds' selections and measurements (they sum to rho)."""
    analysis = sum(1 / k["sigma"] ** 2 for k in initial)
    selected = sum(r["epsilon"] ** 2 / 8 for r in rounds)
    atoms = budget.parts.get("atoms", 0.0)
    parts = {
        "domain": budget.parts["domain"],
        **({"atoms": atoms} if atoms else {}),
        "one_way": one_way,
        "analysis": analysis,
        "selection": selected,
        "measurement": budget.rho - budget.parts["domain"] - atoms - one_way - analysis - selected,
    }
    return replace(budget, parts=parts)
