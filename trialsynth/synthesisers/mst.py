"""MST (McKenna, Miklau, Sheldon 2021, "Winning the NIST Contest") on mbi's estimation engine.

Neighbouring datasets: **replace-one, row count public** (``trialsynth.dp``). The mechanism,
under (epsilon, delta)-DP via zero-concentrated DP (``trialsynth.dp.accounting.plan_budget``):

0. The domain (columns, kinds, levels, missing states, bounds) is public (``meta.domain``). What
   the operator left undeclared is estimated first with ``estimate_share`` of rho
   (``trialsynth.dp.domain.complete``); the level selection then takes half of delta.
1. Convert (epsilon, delta) to rho: epsilon = rho + 2 sqrt(rho log(1/delta)). Split what is
   left in thirds.
2. Measure every one-way marginal with discrete Gaussian noise. Replacing one record moves one
   count down and another up in each marginal: L2 sensitivity sqrt 2, so d marginals at sigma
   cost d / sigma^2 and sigma = sqrt(d / rho_1).
3. Compress each column's domain: values whose noisy count is below 3 sigma are merged into one
   value (post-processing of step 2).
4. Select a maximum spanning tree of two-way marginals with the exponential mechanism: the score
   of a pair is the L1 distance between its true two-way counts and the counts the noisy one-way
   marginals imply under independence (scaled to the public n); replacing a record changes two
   cells by one each, so the sensitivity is 2. Kruskal adds one edge per round among pairs
   joining two components, each round an exponential mechanism at epsilon_r = sqrt(8 rho_r)
   (an exponential mechanism at epsilon is epsilon^2/8-zCDP), rho_r = rho_2 / (d - 1).
5. Measure the tree's two-way marginals, plus the forced pairs (treatment x outcome: the study's
   budget allocation) beside the tree, with discrete Gaussian noise; rho_3 is shared in
   proportion to weights (forced pairs weigh ``preserve_weight``): sensitivity sqrt 2 each, so
   sigma_k = sqrt(1 / rho_k). Forcing the pairs *into* the tree instead was measured to cut the
   outcomes off from each other (correlation MSD 0.096 on the 67,200 x 36 demo).
6. Estimate a graphical model from all noisy measurements with mbi's mirror descent, sample n
   rows from it with the trial's sampling generator (``mst_sampling.py``), decompress merged
   values in proportion to their noisy counts, and un-bin (see ``discretise.py``). All of this
   is post-processing: it reads no record.

Every privacy-relevant random choice (steps 0, 2-5) comes from the ``noise`` given to ``fit``,
by default ``trialsynth.dp.noise.SecureNoise`` (the operating system's secure generator: no seed
exists to store). School labels are a random permutation drawn from the same secret source.
"""

from __future__ import annotations

import math
from itertools import combinations
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Self

import numpy as np
import pandas as pd

from trialsynth import defaults
from trialsynth.dp.accounting import plan_budget
from trialsynth.dp.noise import Noise, SecureNoise, report_noisy_max
from trialsynth.dp.stored import Measurement, StoredMeasurements
from trialsynth.meta import TrialMeta
from trialsynth.plan import TrialPlan
from trialsynth.synthesisers.base import Estimator, check_choice
from trialsynth.synthesisers.estimation import mirror_descent, release_compiled
from trialsynth.synthesisers.guarantees import NOT_PRIVATE, domain_statement, drafted, neighbours_statement
from trialsynth.synthesisers.marginal_models import (
    adopt,
    compression,
    decompress,
    load_mbi,
    noisy,
    prepare,
    release,
    school_form,
    to_stored,
)
from trialsynth.synthesisers.mst_sampling import sample_codes

PRESERVE = ("primary", "all", "none")
SCORE_SENSITIVITY = 2.0  # replace-one: two cells of a pair's counts change by one


class MstSynthesiser(Estimator):
    """Differentially private MST. Parameters are keyword-only; ``epsilon_spent_`` after fit.

    Parameters
    ----------
    epsilon, delta : the DP guarantee of the release (delta default 1e-9), replace-one neighbours.
    iterations : mirror-descent iterations for mbi's estimation.
    preserve : {"primary", "all", "none"} treatment x outcome pairs measured beside the tree
        (the primary outcome only, or every outcome) - the study's budget allocation option.
    preserve_weight : budget weight of each such pair relative to a tree pair.
    n_bins : bins per continuous column (between the public domain's bounds).
    random_state : kept for the common interface; no private step and no label uses it.
    school_covariates, randomised : the declared school-level columns and randomisation level
        ("school": each school one arm) by which new schools are formed from the drawn rows
        (``dp_schools``; post-processing).
    unit_rows : the rows each record contributes, exactly (a long file's pupil, its rows bounded
        by ``dp.units.bounded``): the guarantee is for one record (``dp.accounting``).
    """

    name: ClassVar[str] = "mst"
    measurement_version: ClassVar[str] = "mst-1"  # bump when what is measured changes

    def __init__(
        self,
        *,
        epsilon: float = defaults.EPSILON,
        delta: float = 1e-9,
        iterations: int = 3000,
        preserve: str = "all",
        preserve_weight: float = 2.0,
        n_bins: int = 32,
        random_state: int = 0,
        school_covariates: tuple[str, ...] = (),
        randomised: str | None = None,
        unit_rows: int = 1,
    ) -> None:
        self.epsilon = epsilon
        self.delta = delta
        self.iterations = iterations
        self.preserve = preserve
        self.preserve_weight = preserve_weight
        self.n_bins = n_bins
        self.random_state = random_state
        self.school_covariates = tuple(school_covariates)
        self.randomised = randomised
        self.unit_rows = unit_rows

    @classmethod
    def params_from(cls, plan: TrialPlan) -> dict[str, Any]:
        epsilon = plan.epsilon if plan.epsilon is not None else defaults.EPSILON
        roles = plan.roles
        return {
            "epsilon": epsilon,
            "school_covariates": list(roles.school_covariates),
            "randomised": roles.randomised,
        }

    @classmethod
    def tune(cls, plan: TrialPlan, n_rows: int, n_cols: int, *, seed: int, cache_dir: Path):
        """Epsilon, allocation and iterations chosen on a public surrogate of the trial's shape
        (``mst_tuning.py``); None when the plan fixes epsilon or the policy turns tuning off."""
        if plan.epsilon is not None or not plan.policy.mst_tuning_trials:
            return None
        from trialsynth.synthesisers.mst_tuning import remembered_tuning

        return remembered_tuning(
            cls,
            n_rows,
            n_cols,
            epsilon_cap=plan.policy.epsilon_cap,
            seed=seed,
            n_trials=plan.policy.mst_tuning_trials,
            store=cache_dir / "mst-tuning",
        )

    def fitted_record(self) -> dict[str, Any]:
        if not hasattr(self, "budget_"):
            return {}
        return {
            "bin_scheme": self.bin_scheme_,
            "budget": {**self.budget_.record(), "sigma": self.sigmas_},
            "domain": self.domain_.describe(),
            "domain_estimated": self.domain_estimated_,
            "guarantee": NOT_PRIVATE if drafted(getattr(self, "domain_", None)) else self.accounting(),
        }

    def accounting(self) -> str:
        """The guarantee of the release, as stored with it."""
        budget = getattr(self, "budget_", None) or plan_budget(
            self.epsilon, self.delta, unit_rows=self.unit_rows
        )
        parts = budget.parts
        estimated = domain_statement(budget)
        return (
            f"{neighbours_statement(self.epsilon, self.delta, budget)}{estimated}"
            "one-way marginals (discrete Gaussian, "
            f"sensitivity sqrt 2) rho {parts['one_way']:.6g}, spanning-tree selection (exponential "
            f"mechanism, sensitivity 2) rho {parts['selection']:.6g}, two-way marginals (discrete "
            f"Gaussian, sensitivity sqrt 2) rho {parts['two_way']:.6g}; noise from the operating "
            "system's secure generator (never stored). Covered: the synthetic file. Read without "
            "noise but public: the row count and the declared domain. Not covered: the evaluation "
            "metrics in the catalogue, computed on the real data."
        )

    def privacy_spent(self) -> dict[str, float]:
        if not hasattr(self, "epsilon_spent_"):
            raise RuntimeError("MstSynthesiser is not fitted yet: call fit(data, meta) first.")
        return {"epsilon": self.epsilon_spent_, "delta": float(self.delta), "rho": self.rho_spent_}

    def _validate(self) -> None:
        check_choice("MstSynthesiser", "preserve", self.preserve, PRESERVE)
        for name, value, low in (("epsilon", self.epsilon, 0), ("iterations", self.iterations, 0)):
            if not value > low:
                raise ValueError(f"The {name!r} parameter of MstSynthesiser must be > {low}. Got {value!r}.")
        if not 0 < self.delta < 1:
            raise ValueError(
                f"The 'delta' parameter of MstSynthesiser must be in (0, 1). Got {self.delta!r}."
            )

    def _forced_pairs(self, meta: TrialMeta) -> list[tuple[str, str]]:
        outcomes = {"primary": meta.outcomes[:1], "all": meta.outcomes, "none": ()}[self.preserve]
        return [(meta.treatment, o) for o in outcomes]

    def fit(self, data: pd.DataFrame, meta: TrialMeta, *, noise: Noise | None = None) -> Self:
        """Fit under (epsilon, delta)-DP on ``meta.domain``; every private draw comes from ``noise``."""
        mbi = load_mbi()
        small_domain, measurements, tree, edges = self._measure(mbi, data, meta, noise)
        # 6. estimation, from the tree model the noisy marginals imply (post-processing)
        tree_as_measured = [e for e in edges if e in tree or e[::-1] in tree]
        start = _tree_potentials(mbi, small_domain, measurements, tree_as_measured)
        self.model_ = mirror_descent().estimate(
            small_domain, measurements, iters=self.iterations, warm_start=start
        )
        self.edges_ = edges
        self.epsilon_spent_ = float(self.epsilon)
        self.rho_spent_ = self.budget_.rho_per_unit
        release_compiled()
        return self

    def measurement_params(self) -> dict[str, Any]:
        """The settings that decide what is measured (``iterations`` only estimates; the school
        settings only form schools)."""
        after = ("iterations", "random_state", "school_covariates", "randomised")
        return {k: v for k, v in self.get_params().items() if k not in after}

    def stored(self, key: str) -> StoredMeasurements:
        """What this fit measured, to be stored (``dp.stored``): the noisy outputs only."""
        if not hasattr(self, "measured_"):
            raise RuntimeError("MstSynthesiser is not fitted yet: call fit(data, meta) first.")
        one_way = [
            Measurement((c,), self.sigma_one_way_, tuple(np.asarray(v, float).tolist()), compressed=False)
            for c, v in self.one_way_.items()
        ]
        measured = one_way + [noisy(m) for m in self.measured_]
        record = {"edges": [list(e) for e in self.edges_], "tree": [list(e) for e in self.tree_]}
        record["sigma"] = self.sigmas_
        return to_stored(self, key, measured, record)

    def fit_stored(self, stored: StoredMeasurements, meta: TrialMeta) -> Self:
        """The release made again from stored measurements: estimation and nothing else
        (post-processing: no row is read, nothing is spent)."""
        self._validate()
        mbi = load_mbi()
        restored = adopt(self, stored, meta)
        record = stored.record
        self.edges_ = [tuple(e) for e in record["edges"]]
        self.tree_ = [tuple(e) for e in record["tree"]]
        self.sigmas_ = record["sigma"]
        tree_as_measured = [e for e in self.edges_ if e in self.tree_ or e[::-1] in self.tree_]
        start = _tree_potentials(mbi, restored.domain, restored.measurements, tree_as_measured)
        self.model_ = mirror_descent().estimate(
            restored.domain, restored.measurements, iters=self.iterations, warm_start=start
        )
        release_compiled()
        return self

    def measure(self, data: pd.DataFrame, meta: TrialMeta, *, noise: Noise | None = None) -> list:
        """Steps 0-5 alone - everything that reads the data - returning mbi's noisy measurements
        (each with its clique and noise scale): the mechanism as a privacy audit sees it."""
        return self._measure(load_mbi(), data, meta, noise)[1]

    def _measure(self, mbi, data: pd.DataFrame, meta: TrialMeta, noise: Noise | None):
        self._validate()
        noise = noise if noise is not None else SecureNoise()
        prepared = prepare(
            data,
            meta,
            epsilon=self.epsilon,
            delta=self.delta,
            n_bins=self.n_bins,
            noise=noise,
            unit_rows=self.unit_rows,
        )
        self.prepared_, self.meta_ = prepared, meta
        self.domain_, self.budget_, self.domain_estimated_ = (
            prepared.domain,
            prepared.budget,
            prepared.estimated,
        )
        self.scheme_, self.bin_scheme_ = prepared.scheme, prepared.bin_scheme
        self.school_labels_ = prepared.school_labels
        dataset = prepared.dataset
        mbi_domain = dataset.domain
        columns = list(mbi_domain.attributes)
        budget = prepared.budget
        n = len(data)  # public under replace-one neighbours
        parts = budget.parts
        # 2. one-way marginals: sensitivity sqrt 2 each, d of them
        sigma1 = math.sqrt(len(columns) / parts["one_way"])
        one_way = {
            c: dataset.project((c,)).datavector() + noise.discrete_gaussian(sigma1, mbi_domain[c])
            for c in columns
        }
        # 3. compression of rare values
        self.mapping_ = {c: compression(one_way[c], 3 * sigma1, self.scheme_[c]) for c in columns}
        self.value_weights_ = {c: np.clip(one_way[c], 0, None) for c in columns}
        self.one_way_, self.sigma_one_way_ = one_way, sigma1
        small = dataset.compress(self.mapping_)
        measurements = [
            mbi.LinearMeasurement(one_way[c], (c,), sigma1).compress(self.mapping_, mbi_domain)
            for c in columns
        ]
        # 4. tree selection, 5. two-way measurements
        forced = self._forced_pairs(meta)
        tree = _select_tree(small, one_way, self.mapping_, parts["selection"], n, noise)
        edges = forced + [e for e in tree if e not in forced and e[::-1] not in forced]
        weights = [self.preserve_weight] * len(forced) + [1.0] * (len(edges) - len(forced))
        sigmas = []
        for pair, weight in zip(edges, weights, strict=True):
            sigma = math.sqrt(1 / (parts["two_way"] * weight / sum(weights)))
            sigmas.append(sigma)
            counts = small.project(pair).datavector()
            measurements.append(
                mbi.LinearMeasurement(counts + noise.discrete_gaussian(sigma, counts.size), pair, sigma)
            )
        self.sigmas_ = {"one_way": sigma1, "two_way": sorted(set(round(s, 6) for s in sigmas))}
        self.measured_, self.tree_ = measurements[len(columns) :], tree
        return small.domain, measurements, tree, edges

    def sample(self, n: int, rng: np.random.Generator) -> pd.DataFrame:
        if not hasattr(self, "model_"):
            raise RuntimeError("MstSynthesiser is not fitted yet: call fit(data, meta) first.")
        if n < 1:
            raise ValueError(f"The 'n' parameter of MstSynthesiser.sample must be >= 1. Got {n!r}.")
        small = sample_codes(self.model_, n, rng)
        weights = self.value_weights_
        codes = {c: decompress(small[c], self.mapping_[c], weights[c], rng) for c in self.scheme_}
        form = school_form(self.mapping_, self.meta_, self.school_covariates, self.randomised)
        return release(codes, self.prepared_, self.meta_, rng, form)


def _tree_potentials(mbi, domain, measurements, tree: list[tuple[str, str]]):
    """Log-potentials of the tree-structured model whose edge and node marginals are the noisy
    ones (negative counts floored at 1): log p(x) = sum over edges of log p_ab - sum over nodes of
    (degree - 1) log p_a, exact for a tree with consistent marginals. Mirror descent starts here
    instead of from the uniform model, which it leaves slowly on strongly related pairs."""
    import jax.numpy as jnp

    noisy = {m.clique: np.asarray(m.noisy_measurement, dtype=float) for m in measurements}

    def log_distribution(clique):
        counts = np.maximum(noisy[clique], 1.0)
        return np.log(counts / counts.sum()).reshape(domain.project(clique).shape)

    degree = {c: 0 for c in domain.attributes}
    for a, b in tree:
        degree[a] += 1
        degree[b] += 1
    tables: dict[tuple[str, ...], np.ndarray] = {pair: log_distribution(pair) for pair in tree}
    tables.update({(c,): (1 - degree[c]) * log_distribution((c,)) for c in domain.attributes})
    factors = {clique: mbi.Factor(domain.project(clique), jnp.asarray(t)) for clique, t in tables.items()}
    return mbi.CliqueVector(domain, list(factors), factors)


def _independent_estimate(one_way: dict, mapping: dict, a: str, b: str, total: float) -> np.ndarray:
    def marginal(c):
        p = np.bincount(mapping[c], weights=np.clip(one_way[c], 0, None), minlength=mapping[c].max() + 1)
        return p / p.sum() if p.sum() > 0 else np.full(p.size, 1 / p.size)

    return np.outer(marginal(a), marginal(b)).ravel() * total


def _select_tree(dataset, one_way, mapping, rho, n: int, noise: Noise) -> list[tuple[str, str]]:
    """Kruskal's algorithm with an exponential-mechanism choice at each round (see module doc)."""
    columns = list(dataset.domain.attributes)
    parent = {c: c for c in columns}

    def root(c):
        while parent[c] != c:
            parent[c] = parent[parent[c]]
            c = parent[c]
        return c

    candidates = list(combinations(columns, 2))
    scores = {
        pair: np.abs(
            dataset.project(pair).datavector() - _independent_estimate(one_way, mapping, *pair, n)
        ).sum()
        for pair in candidates
    }
    rounds = len(columns) - 1
    chosen: list[tuple[str, str]] = []
    if rounds == 0:
        return chosen
    epsilon_round = math.sqrt(8 * rho / rounds)
    for _ in range(rounds):
        open_pairs = [p for p in candidates if root(p[0]) != root(p[1])]
        utility = np.array([scores[p] for p in open_pairs])
        a, b = open_pairs[report_noisy_max(utility, epsilon_round, SCORE_SENSITIVITY, noise)]
        parent[root(a)] = root(b)
        chosen.append((a, b))
    return chosen


if TYPE_CHECKING:  # mypy checks the class against every capability it claims
    from trialsynth.synthesisers.base import DifferentiallyPrivate, StoresMeasurements, Tunable

    _differentiallyprivate: type[DifferentiallyPrivate] = MstSynthesiser
    _storesmeasurements: type[StoresMeasurements] = MstSynthesiser
    _tunable: type[Tunable] = MstSynthesiser
