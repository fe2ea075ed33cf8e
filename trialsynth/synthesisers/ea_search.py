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

from trialsynth.outputs.regression import code_table, fit_linear, fit_logistic, model_terms, select_terms
from trialsynth.outputs.released import ReleasedOutputs


@dataclass(frozen=True)
class EaSettings:
    population: int = 32
    generations: int = 2000
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


def _sigmoid(eta):
    return 0.5 * (1.0 + np.tanh(0.5 * eta))


class _ModelGroup:
    """Released models sharing one specification: a common anchor and one target per source.

    A design row is a lookup on the codes (dummies; for a continuous predictor its missing
    indicator and the released mean standing in for a missing value) plus the continuous
    predictors' own values in their term columns.
    """

    def __init__(self, models, index: dict[str, int], variables: list, value_slot: dict[int, int]):
        first = models[0]
        self.family = first.family
        self.outcome = index[first.outcome]
        self.outcome_slot = value_slot.get(self.outcome)
        self.predictors = np.array([index[p] for p in first.predictors], dtype=np.int64)
        tables, value_terms, column = [], [], 1
        for i in self.predictors:
            table = code_table(variables[i])
            if variables[i].kind == "continuous":
                table = table.copy()
                table[: len(variables[i].edges) - 1, 0] = 0.0  # the value itself comes from `values`
                value_terms.append((value_slot[int(i)], column))
            tables.append(table)
            column += table.shape[1]
        sizes = [t.shape[0] for t in tables]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        self.n_codes = int(sum(sizes))
        full = np.zeros((self.n_codes, column - 1))
        row = col = 0
        for t in tables:
            full[row : row + t.shape[0], col : col + t.shape[1]] = t
            row, col = row + t.shape[0], col + t.shape[1]
        # a source's model may lack a combined level (pooled or absent there): it is its reference
        keep = select_terms(model_terms([variables[i] for i in self.predictors]), first.terms)
        self.n_terms = len(keep)
        self.terms = list(first.terms)
        self.table = full[:, [k - 1 for k in keep[1:]]]
        position = {k: j for j, k in enumerate(keep)}
        value_terms = [(slot, position[col]) for slot, col in value_terms if col in position]
        self.value_slots = np.array([slot for slot, _ in value_terms], dtype=np.int64)
        self.value_columns = np.array([col for _, col in value_terms], dtype=np.int64)
        self.targets = np.array([m.coefficients for m in models], dtype=float)
        if self.targets.shape[1] != self.n_terms:
            raise ValueError(
                f"model for {first.outcome!r}: {self.targets.shape[1]} coefficients, {self.n_terms} terms"
            )
        self.weights = _precision_weights(models, self.targets.shape)
        self.anchor = (self.weights * self.targets).sum(axis=0) / self.weights.sum(axis=0)
        self.eta_lookup = self.table @ self.anchor[1:]
        self.value_beta = self.anchor[self.value_columns]
        self.na_code = variables[self.outcome].na_code
        self.h_inverse = np.eye(self.n_terms)

    def flat(self, codes: np.ndarray) -> np.ndarray:
        return codes[..., self.predictors] + self.offsets

    def eta(self, codes: np.ndarray, values: np.ndarray) -> np.ndarray:
        eta = self.anchor[0] + self.eta_lookup[self.flat(codes)].sum(axis=-1)
        if len(self.value_slots):
            eta = eta + values[..., self.value_slots] @ self.value_beta
        return eta

    def predictor_part(self, codes: np.ndarray, values: np.ndarray, beta: np.ndarray) -> np.ndarray:
        """The linear predictor of ``beta`` without its intercept."""
        part = (self.table @ beta[1:])[self.flat(codes)].sum(axis=-1)
        if len(self.value_slots):
            part = part + values[..., self.value_slots] @ beta[self.value_columns]
        return part

    def response(self, codes: np.ndarray, values: np.ndarray) -> np.ndarray:
        code = codes[..., self.outcome]
        y = values[..., self.outcome_slot] if self.family == "linear" else (code == 1).astype(float)
        return np.where(code == self.na_code, np.nan, y) if self.na_code is not None else y

    def residual(self, codes: np.ndarray, values: np.ndarray) -> np.ndarray:
        y = self.response(codes, values)
        eta = self.eta(codes, values)
        mu = _sigmoid(eta) if self.family == "logistic" else eta
        return np.where(np.isnan(y), 0.0, np.nan_to_num(y) - mu)

    def score(self, codes: np.ndarray, values: np.ndarray, r: np.ndarray) -> np.ndarray:
        width = len(self.predictors)
        sums = np.bincount(self.flat(codes).ravel(), weights=np.repeat(r, width), minlength=self.n_codes)
        g = np.concatenate([[r.sum()], sums @ self.table])
        if len(self.value_slots):
            g[self.value_columns] += r @ values[:, self.value_slots]
        return g

    def full_design(self, codes: np.ndarray, values: np.ndarray) -> np.ndarray:
        x = np.hstack([np.ones((len(codes), 1)), self.table[self.flat(codes)].sum(axis=1)])
        if len(self.value_slots):
            x[:, self.value_columns] += values[:, self.value_slots]
        return x

    def design(self, codes: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = self.full_design(codes, values)
        y = self.response(codes, values)
        used = ~np.isnan(y)
        return x[used], y[used]

    def refresh(self, codes: np.ndarray, values: np.ndarray) -> None:
        x, _ = self.design(codes, values)
        if self.family == "logistic":
            mu = _sigmoid(x @ self.anchor)
            h = (x * (mu * (1 - mu))[:, None]).T @ x
        else:
            h = x.T @ x
        self.h_inverse = np.linalg.pinv(h)

    def exact(self, codes: np.ndarray, values: np.ndarray) -> np.ndarray:
        x, y = self.design(codes, values)
        if self.family == "logistic":
            return fit_logistic(x, y, beta=self.anchor, max_iter=25)[0]
        return fit_linear(x, y)


def _precision_weights(models, shape: tuple[int, int]) -> np.ndarray:
    """Per source and coefficient, 1/SE^2 scaled to average 1 over the sources (all ones for one
    source or when a source released no standard errors)."""
    if len(models) < 2 or any(m.standard_errors is None for m in models):
        return np.ones(shape)
    precision = 1.0 / np.square(np.array([m.standard_errors for m in models], dtype=float))
    return precision / precision.mean(axis=0, keepdims=True)


class _BinValues:
    """Drawing a value inside a histogram bin: one of the values the column's precision allows
    there, or uniformly when that grid is too fine to list."""

    def __init__(self, variables: list, continuous: list[int]):
        lows, highs, starts, counts, grid = [], [], [], [], []
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
        self.groups = [_ModelGroup(models, index, self.variables, value_slot) for models in groups.values()]
        self.n_coefficients = sum(g.targets.size for g in self.groups)
        self.bins = _BinValues(self.variables, self.continuous)
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
        by_outcome: dict[int, list[_ModelGroup]] = {}
        for group in self.groups:
            by_outcome.setdefault(group.outcome, []).append(group)
        for outcome, groups in by_outcome.items():
            variable = self.variables[outcome]
            eta = self._joint_predictor(groups, codes, values)
            if groups[0].family == "logistic":
                drawn = (rng.random(self.n) < _sigmoid(eta)).astype(np.int16)
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
                drawn = np.where(missing, variable.na_code, drawn)
                if variable.kind == "continuous":
                    values[missing, self.slot_of[outcome]] = 0.0
            codes[:, outcome] = drawn
        return codes, values

    @staticmethod
    def _joint_predictor(
        groups: list[_ModelGroup], codes: np.ndarray, values: np.ndarray, rounds: int = 8
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
                    fitted = fit_logistic(x, _sigmoid(eta), beta=group.anchor, max_iter=8)[0]
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
        mu = s.population
        initial = [self._initial(rng) for _ in range(mu)]
        state = {
            "codes": np.stack([c for c, _ in initial]),
            "values": np.stack([v for _, v in initial]),
        }
        codes, values = state["codes"], state["values"]
        for group in self.groups:
            group.refresh(codes[0], values[0])
        state["residuals"] = [np.stack([g.residual(c, v) for c, v in initial]) for g in self.groups]
        state["scores"] = [
            np.stack([g.score(c, v, r) for (c, v), r in zip(initial, res, strict=True)])
            for g, res in zip(self.groups, state["residuals"], strict=True)
        ]
        state["counts"] = np.stack([self._counts(c) for c, _ in initial])
        state["fitness"] = self._fitness(state["scores"], state["counts"])
        del initial
        history: list[dict] = []
        stopped_by, generation, mae = "generations", 0, float("nan")
        for generation in range(1, s.generations + 1):
            rate = mutation_rate_at(generation, s)
            self._select(state, self._children(state, rate, rng))
            fitness = state["fitness"]
            best = int(np.argmin(fitness))
            if generation % s.refresh_every == 0:
                for group in self.groups:
                    group.refresh(codes[best], values[best])
                fitness[:] = self._fitness(state["scores"], state["counts"])
                best = int(np.argmin(fitness))
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
        self.state_ = state  # the final population's bookkeeping (scores, counts), kept for checks
        best = int(np.argmin(state["fitness"]))
        if not history or history[-1]["generation"] != generation:
            mae = self.check(codes[best], values[best])["coef_mae"]
        return SearchResult(
            codes=codes[best].copy(),
            values=values[best].copy(),
            generations=generation,
            fitness=float(state["fitness"][best]),
            coef_mae=mae,
            seconds=time.perf_counter() - started,
            history=history,
            stopped_by=stopped_by,
        )

    def _tournament(self, fitness: np.ndarray, rng: np.random.Generator) -> int:
        a, b = rng.integers(0, len(fitness), 2)
        return int(a if fitness[a] <= fitness[b] else b)

    def _children(self, state: dict, rate: float, rng: np.random.Generator) -> dict:
        """Every child of this generation as changed rows only, scored in one batch."""
        s = self.settings
        codes, values, fitness = state["codes"], state["values"], state["fitness"]
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
        for group, res, sc in zip(self.groups, state["residuals"], state["scores"], strict=True):
            r_new = group.residual(new, new_values)
            r_old = res[parents[owner], rows]
            child_residuals.append(r_new)
            change = self._score_change(group, owner, lam, (new, new_values, r_new), (old, old_values, r_old))
            child_scores.append(sc[parents] + change)
        base = (owner * self.all_codes)[:, None]
        delta = np.bincount((new + self.all_offsets + base).ravel(), minlength=lam * self.all_codes)
        delta -= np.bincount((old + self.all_offsets + base).ravel(), minlength=lam * self.all_codes)
        child_counts = state["counts"][parents] + delta.reshape(lam, self.all_codes)
        return {
            "parents": parents,
            "owner": owner,
            "rows": rows,
            "codes": new,
            "values": new_values,
            "residuals": child_residuals,
            "scores": child_scores,
            "counts": child_counts,
            "fitness": self._fitness(child_scores, child_counts),
        }

    def _score_change(self, group, owner, lam, new, old) -> np.ndarray:
        width = len(group.predictors)
        base = (owner * group.n_codes)[:, None]
        size = lam * group.n_codes
        (new_codes, new_values, r_new), (old_codes, old_values, r_old) = new, old
        plus = np.bincount((group.flat(new_codes) + base).ravel(), np.repeat(r_new, width), minlength=size)
        minus = np.bincount((group.flat(old_codes) + base).ravel(), np.repeat(r_old, width), minlength=size)
        intercept = np.bincount(owner, r_new - r_old, minlength=lam)
        change = np.hstack([intercept[:, None], (plus - minus).reshape(lam, group.n_codes) @ group.table])
        for slot, column in zip(group.value_slots, group.value_columns, strict=True):
            weights = r_new * new_values[:, slot] - r_old * old_values[:, slot]
            change[:, column] += np.bincount(owner, weights, minlength=lam)
        return change

    def _select(self, state: dict, child: dict) -> None:
        """(mu + lambda): the best of parents and children fill the population, in place."""
        fitness = state["fitness"]
        mu = len(fitness)
        ranked = np.argsort(np.concatenate([fitness, child["fitness"]]), kind="stable")[:mu]
        keep = {int(i) for i in ranked if i < mu}
        winners = [int(i) - mu for i in ranked if i >= mu]
        if not winners:
            return
        built = []
        for c in winners:
            p = int(child["parents"][c])
            mine = child["owner"] == c
            rows = child["rows"][mine]
            codes, values = state["codes"][p].copy(), state["values"][p].copy()
            codes[rows], values[rows] = child["codes"][mine], child["values"][mine]
            residuals = []
            for k, res in enumerate(state["residuals"]):
                r = res[p].copy()
                r[rows] = child["residuals"][k][mine]
                residuals.append(r)
            built.append((c, codes, values, residuals))
        free = [i for i in range(mu) if i not in keep]
        for slot, (c, codes, values, residuals) in zip(free, built, strict=True):
            state["codes"][slot], state["values"][slot] = codes, values
            for k in range(len(residuals)):
                state["residuals"][k][slot] = residuals[k]
                state["scores"][k][slot] = child["scores"][k][c]
            state["counts"][slot] = child["counts"][c]
            fitness[slot] = child["fitness"][c]
