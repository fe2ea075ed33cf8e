"""AIM (McKenna, Mullins, Sheldon, Miklau 2022, "AIM: an adaptive and iterative mechanism for
differentially private synthetic data") on mbi's estimation engine, with a workload drawn from the
trial's analysis.

Neighbouring datasets: **replace-one, row count public** (``trialsynth.dp``). The mechanism, under
(epsilon, delta)-DP via zero-concentrated DP (Bun & Steinke 2016):

0. The domain is public (``meta.domain``); what the operator left undeclared is estimated first
   with ``estimate_share`` of rho (``trialsynth.dp.domain.complete``), as for MST. The rest, rho,
   is AIM's, but for ``atoms_share`` of rho that selects the values continuous columns pile up on
   (``trialsynth.dp.atoms``: Gaussian partition selection, sharing delta_selection with the
   domain's levels; decoded to in their noisy share of a bin).
1. **Workload** W (public: built from the column roles alone, never from the rows): every
   two-way marginal, weight 1. The candidates are W's downward closure; candidate r weighs
   w_r = sum over workload marginals s of c_s |r & s| (the paper's weighting). ``trial`` adds the
   primary analysis's marginals, measured at the start (step 2): treatment x primary outcome x
   each baseline (the declared covariates, else the outcome's pre-test twin ``post_...`` ->
   ``pre_...``; treatment x outcome without one) and primary outcome x each declared
   school-level covariate. ``pairs`` is plain AIM.
2. **Initialisation**: T = min(``rounds_per_column`` x d, ``max_rounds`` x ``batch``) measurements
   are planned (the paper's 16 d assumes hours of estimation; a plan longer than the time budget
   allows leaves most of rho to the last round); sigma_0 = sqrt((T + d) / (alpha rho')) and
   epsilon_0 = sqrt(8 (1 - alpha) rho' / T), alpha = 0.9, rho' the rounds' budget: the d one-way
   and T round measurements share alpha rho', the T selections the rest (the paper's sigma_0 =
   sqrt(T / (alpha rho)) would overspend once T is cut below d). Every
   one-way marginal is measured with discrete Gaussian noise at sigma_0: replacing one record
   moves one count down and one up, L2 sensitivity sqrt 2, so a measurement at sigma costs
   2 / (2 sigma^2) = 1 / sigma^2 of rho. Values whose noisy count is under 3 sigma_0 are merged
   as in MST (``marginal_models.compression``; post-processing), and a continuous column's
   neighbouring bins are grouped until each group holds n / ``levels`` noisy pupils: about
   ``levels`` groups of equal mass, fine where the pupils are, whatever the public bounds' width.
   A two-way marginal of two such columns has about (levels + 1)^2 cells, cheap enough for AIM's
   score to choose at a small epsilon. With the ``trial`` workload the
   primary analysis's marginals (treatment x primary outcome x each baseline, and x each
   school-level covariate) are then measured too, ``analysis_share`` of rho shared equally: the
   treatment effect does not wait for a selection that its cells' count would lose (AIM's score
   charges each cell sqrt(2/pi) sigma, so a 3-way marginal is seldom chosen at a small epsilon).
   ``bench/dp_methods.py`` compares this start with plain AIM's. rho' is what is left.
3. **Each round**: ``batch`` marginals (the paper: one) are chosen one after another, each by
   the exponential mechanism at epsilon_t (epsilon^2/8-zCDP, bounded range) among the candidates
   not yet chosen this round, on the quality score q_r = w_r (||M_r(D) - M_r(p)||_1 - sqrt(2/pi)
   sigma_t n_r), n_r the cells of r and p the model at the start of the round. Replacing one
   record changes ||M_r(D) - .||_1 by at most 2: sensitivity 2 max_r w_r. Only candidates that
   keep the junction tree within ``max_model_size`` x (rho spent / rho) MB take part (the size
   cap; the feasible set depends on earlier selections only, so taking the best noisy score that
   is feasible is the exponential mechanism over the feasible set). Each is measured at sigma_t
   and costs 1/sigma_t^2 + epsilon_t^2/8; the model is then re-estimated once, by mirror descent
   from the previous model (warm start): one estimation (a round's time) for ``batch`` of them.
4. **Annealing**: when the new model's marginal moved by less than sqrt(2/pi) sigma_t n_r (what
   the noise alone would explain) on half or more of the batch, sigma halves and epsilon doubles.
   **Stopping**: when what is left would not pay for two more rounds, or the round cap
   ``max_rounds`` or the time budget ``time_budget`` is reached, the last round's batch shares
   all that is left (sigma and epsilon set from it with the same alpha split), so rho is spent
   exactly. Time and round count depend only on earlier noisy outputs and on the machine.
5. **Release**: a final estimation (``final_iterations``), n rows drawn from the model with the
   trial's generator (``mst_sampling.py``), un-binned (``discretise.py``).

Total: the rounds' costs and the one-way measurements sum to rho exactly (a zCDP filter: every
round's cost is chosen from earlier outputs, and the running sum never passes rho), so the release
is rho-zCDP, (epsilon, delta)-DP by the conversion of ``trialsynth.dp.accounting``.

Scores read the current model's exact marginals (``model_marginals``: post-processing), as in
the reference AIM. Every random choice of the fit comes from ``noise`` (default ``SecureNoise``).
"""

from __future__ import annotations

import math
import time
from itertools import combinations
from typing import TYPE_CHECKING, Any, ClassVar, Self

import numpy as np
import pandas as pd

from trialsynth import defaults
from trialsynth.dp.noise import Noise, SecureNoise
from trialsynth.dp.stored import Measurement, StoredMeasurements
from trialsynth.meta import TrialMeta
from trialsynth.plan import TrialPlan
from trialsynth.synthesisers.aim_rounds import (
    ALPHA,
    Clique,
    Limits,
    Measured,
    Mechanism,
    Timer,
    adaptive_rounds,
    budget_parts,
    measure_analysis,
    measure_one_way,
    sigma_one_way,
)
from trialsynth.synthesisers.aim_workload import candidate_weights, trial_workload
from trialsynth.synthesisers.base import Estimator, check_choice
from trialsynth.synthesisers.estimation import mirror_descent, release_compiled
from trialsynth.synthesisers.guarantees import (
    NOT_PRIVATE,
    aim_statement,
    atoms_statement,
    domain_statement,
    drafted,
    neighbours_statement,
)
from trialsynth.synthesisers.marginal_models import (
    adopt,
    decompress,
    load_mbi,
    noisy,
    prepare,
    release,
    school_form,
    to_stored,
    value_weights,
)
from trialsynth.synthesisers.mst_sampling import sample_codes

WORKLOADS = ("trial", "pairs")


class AimSynthesiser(Estimator):
    """Differentially private AIM. Parameters are keyword-only; ``epsilon_spent_`` after fit.

    Parameters
    ----------
    epsilon, delta : the DP guarantee of the release (delta default 1e-9), replace-one neighbours.
    workload : {"trial", "pairs"} every two-way marginal, plus (``trial``) the analysis's marginals.
    analysis_share : share of rho that measures the primary analysis's marginals at the start.
    atoms_share : share of rho that selects the values continuous columns pile up on (``dp.atoms``).
    covariates, school_covariates : declared baseline and school-level covariates (public roles).
    n_bins : bins per continuous column (between the public domain's bounds).
    levels : about this many groups of neighbouring bins per continuous column, each holding at
        least n / levels noisy pupils (post-processing of the one-way marginals; n is public).
    max_model_size : the junction tree's size cap in MB (float64 cells).
    rounds_per_column : T = min(this x d, max_rounds x batch) planned measurements: the first noise.
    batch : marginals chosen and measured per round (one re-estimation per round).
    max_rounds, time_budget : when either is reached the next round spends what is left.
    round_iterations, final_iterations : mirror-descent iterations per round and at the end.
    random_state : the common interface's seed; AIM's fit draws nothing but its noise (the
        scores read the model's exact marginals), so it seeds nothing.
    randomised : "school" when the protocol randomised schools (each formed school one arm).
    unit_rows : the rows each record contributes, exactly (a long file's pupil, its rows bounded
        by ``dp.units.bounded``): the guarantee is for one record (``dp.accounting``).
    """

    name: ClassVar[str] = "aim"
    measurement_version: ClassVar[str] = "aim-2"  # bump when what is measured changes

    def __init__(
        self,
        *,
        epsilon: float = defaults.EPSILON,
        delta: float = 1e-9,
        workload: str = "trial",
        analysis_share: float = 0.1,
        atoms_share: float = 0.05,
        covariates: tuple[str, ...] = (),
        school_covariates: tuple[str, ...] = (),
        n_bins: int = 64,
        levels: int = 8,
        max_model_size: float = defaults.DP_MODEL_SIZE,
        rounds_per_column: int = 4,
        max_rounds: int = 30,
        batch: int = 4,
        time_budget: float = defaults.DP_TIME_BUDGET,
        round_iterations: int = 50,
        final_iterations: int = 1000,
        random_state: int = 0,
        unit_rows: int = 1,
        randomised: str | None = None,
    ) -> None:
        self.epsilon = epsilon
        self.delta = delta
        self.workload = workload
        self.analysis_share = analysis_share
        self.atoms_share = atoms_share
        self.covariates = tuple(covariates)
        self.school_covariates = tuple(school_covariates)
        self.n_bins = n_bins
        self.levels = levels
        self.max_model_size = max_model_size
        self.rounds_per_column = rounds_per_column
        self.max_rounds = max_rounds
        self.batch = batch
        self.time_budget = time_budget
        self.round_iterations = round_iterations
        self.final_iterations = final_iterations
        self.random_state = random_state
        self.randomised = randomised
        self.unit_rows = unit_rows

    @classmethod
    def params_from(cls, plan: TrialPlan) -> dict[str, Any]:
        return {
            # the trial's epsilon, else the cap: it wins the tuning objective (README)
            "epsilon": plan.epsilon
            if plan.epsilon is not None
            else min(defaults.EPSILON, plan.policy.epsilon_cap),
            "covariates": list(plan.roles.covariates),
            "school_covariates": list(plan.roles.school_covariates),
            "randomised": plan.roles.randomised,
            "max_model_size": plan.policy.dp_model_size,
            "time_budget": plan.policy.dp_time_budget,
        }

    def _validate(self) -> None:
        check_choice("AimSynthesiser", "workload", self.workload, WORKLOADS)
        positive = (
            ("epsilon", self.epsilon),
            ("max_model_size", self.max_model_size),
            ("levels", self.levels),
            ("rounds_per_column", self.rounds_per_column),
            ("max_rounds", self.max_rounds),
            ("batch", self.batch),
            ("time_budget", self.time_budget),
            ("round_iterations", self.round_iterations),
            ("final_iterations", self.final_iterations),
        )
        for name, value in positive:
            if not value > 0:
                raise ValueError(f"The {name!r} parameter of AimSynthesiser must be > 0. Got {value!r}.")
        if not 0 <= self.atoms_share < 1:
            raise ValueError(
                f"The 'atoms_share' parameter of AimSynthesiser must be in [0, 1). Got {self.atoms_share!r}."
            )
        if not 0 < self.analysis_share < 1:
            raise ValueError(
                "The 'analysis_share' parameter of AimSynthesiser must be in (0, 1). "
                f"Got {self.analysis_share!r}."
            )
        if not 0 < self.delta < 1:
            raise ValueError(
                f"The 'delta' parameter of AimSynthesiser must be in (0, 1). Got {self.delta!r}."
            )

    def workload_of(self, columns: list[str], meta: TrialMeta) -> dict[Clique, float]:
        """The workload the rounds select from: every two-way marginal, weight 1 (both workloads;
        the trial workload's analysis marginals are measured at the start instead)."""
        return {pair: 1.0 for pair in combinations(columns, 2)}

    def analysis_cliques(self, columns: list[str], meta: TrialMeta) -> dict[Clique, float]:
        """The primary analysis's marginals, measured at the start (``trial`` workload only):
        treatment x primary outcome x each baseline (and x each school-level covariate), equal
        weights. The other outcomes' marginals are in the workload and wait for selection."""
        if self.workload != "trial":
            return {}
        cliques = trial_workload(
            columns, meta, covariates=self.covariates, school_covariates=self.school_covariates
        )
        return {c: 1.0 for c in cliques if meta.primary_outcome in c}

    def fitted_record(self) -> dict[str, Any]:
        if not hasattr(self, "budget_"):
            return {}
        return {
            "bin_scheme": self.bin_scheme_,
            "budget": {**self.budget_.record(), "analysis": self.initial_, "rounds": self.rounds_},
            "domain": self.domain_.describe(),
            "domain_estimated": self.domain_estimated_,
            "atoms": self.prepared_.atoms_record,
            "guarantee": NOT_PRIVATE if drafted(getattr(self, "domain_", None)) else self.accounting(),
            "seconds": self.seconds_,
            "stopped_by": self.stopped_by_,
        }

    def accounting(self) -> str:
        """The guarantee of the release, as stored with it."""
        from trialsynth.dp.accounting import plan_budget

        budget = getattr(self, "budget_", None) or plan_budget(
            self.epsilon, self.delta, unit_rows=self.unit_rows
        )
        return (
            f"{neighbours_statement(self.epsilon, self.delta, budget)}{domain_statement(budget)}"
            f"{atoms_statement(budget)}{aim_statement(self.workload, len(getattr(self, 'rounds_', [])))}"
        )

    def privacy_spent(self) -> dict[str, float]:
        if not hasattr(self, "epsilon_spent_"):
            raise RuntimeError("AimSynthesiser is not fitted yet: call fit(data, meta) first.")
        return {"epsilon": self.epsilon_spent_, "delta": float(self.delta), "rho": self.rho_spent_}

    def fit(self, data: pd.DataFrame, meta: TrialMeta, *, noise: Noise | None = None) -> Self:
        """Fit under (epsilon, delta)-DP on ``meta.domain``; every private draw comes from ``noise``."""
        self._validate()
        started = time.monotonic()
        mbi = load_mbi()
        noise = noise if noise is not None else SecureNoise()
        prepared = prepare(
            data, meta, epsilon=self.epsilon, delta=self.delta, n_bins=self.n_bins, noise=noise,
            unit_rows=self.unit_rows, atoms_share=self.atoms_share,
        )  # fmt: skip
        self.prepared_, self.meta_ = prepared, meta
        self.domain_, self.domain_estimated_ = prepared.domain, prepared.estimated
        self.scheme_, self.bin_scheme_ = prepared.scheme, prepared.bin_scheme
        self.school_labels_ = prepared.school_labels
        columns = list(prepared.dataset.domain.attributes)
        n = len(data)  # public under replace-one neighbours
        rho = prepared.budget.rho - prepared.budget.parts["domain"] - prepared.budget.parts.get("atoms", 0.0)
        weights = candidate_weights(self.workload_of(columns, meta))
        analysis = self.analysis_cliques(columns, meta)
        mech = Mechanism(mbi, mirror_descent(), noise, weights, rho, n, Timer())
        # 2. one-way marginals at sigma_0 (compressed), the analysis's marginals at the start
        planned = min(self.rounds_per_column * len(columns), self.max_rounds * self.batch)
        rho_rounds = rho * (1 - self.analysis_share) if analysis else rho
        self.sigma_one_way_ = sigma = sigma_one_way(planned, len(columns), ALPHA, rho_rounds)
        epsilon_t = math.sqrt(8 * (1 - ALPHA) * rho_rounds / planned)
        with mech.timer("measure"):
            dataset, self.mapping_, self.one_way_, measurements = measure_one_way(
                mbi, prepared.dataset, self.scheme_, n, self.levels, sigma, noise
            )
            atoms, self.value_weights_ = prepared.atoms, {}
            for c, v in self.one_way_.items():
                self.value_weights_[c] = value_weights(c, v, sigma, self.scheme_, atoms)
            answers = {
                r: np.asarray(dataset.project(r).datavector(), dtype=float) for r in {*weights, *analysis}
            }
            state = Measured(dataset, answers, measurements, len(columns) / sigma**2)
            state.chosen = [(c,) for c in columns] + list(analysis)
            one_way_rho = state.spent
            initial = measure_analysis(mbi, state, analysis, rho * self.analysis_share, noise)
        state.model = mech.estimate(state, self.round_iterations)
        # 3-4. adaptive rounds
        limits = Limits(
            self.batch, self.max_rounds, self.time_budget, self.max_model_size,
            self.round_iterations, self.final_iterations, started,
        )  # fmt: skip
        stopped_by = adaptive_rounds(mech, state, sigma, epsilon_t, limits)
        if not state.rounds:  # no round could be paid for: the final estimate from the start
            state.model = mech.estimate(state, self.final_iterations)
        self.model_ = state.model
        self.measured_ = state.measurements[len(columns) :]  # the analysis's and the rounds'
        self.initial_, self.rounds_, self.stopped_by_ = initial, state.rounds, stopped_by
        self.budget_ = budget_parts(prepared.budget, one_way_rho, initial, state.rounds)
        elapsed = {"fit": time.monotonic() - started}
        self.seconds_ = {k: round(v, 2) for k, v in (mech.timer.seconds | elapsed).items()}
        self.epsilon_spent_ = float(self.epsilon)
        self.rho_spent_ = prepared.budget.rho_per_unit
        release_compiled()
        return self

    def measurement_params(self) -> dict[str, Any]:
        """The settings that decide what is measured (``final_iterations`` only estimates,
        ``randomised`` only forms schools)."""
        after = ("final_iterations", "random_state", "randomised")
        return {k: v for k, v in self.get_params().items() if k not in after}

    def stored(self, key: str) -> StoredMeasurements:
        """What this fit measured, to be stored (``dp.stored``): the noisy outputs only."""
        if not hasattr(self, "measured_"):
            raise RuntimeError("AimSynthesiser is not fitted yet: call fit(data, meta) first.")
        one_way = [
            Measurement((c,), self.sigma_one_way_, tuple(v.tolist()), compressed=False)
            for c, v in self.one_way_.items()
        ]
        record = {"initial": self.initial_, "rounds": self.rounds_, "stopped_by": self.stopped_by_}
        measured = one_way + [noisy(m) for m in self.measured_]
        return to_stored(self, key, measured, record)

    def fit_stored(self, stored: StoredMeasurements, meta: TrialMeta) -> Self:
        """The release made again from stored measurements: estimation and nothing else
        (post-processing: no row is read, nothing is spent)."""
        self._validate()
        started = time.monotonic()
        restored = adopt(self, stored, meta)
        record = stored.record
        self.initial_, self.rounds_, self.stopped_by_ = (
            record[k] for k in ("initial", "rounds", "stopped_by")
        )
        load_mbi()
        self.model_ = mirror_descent().estimate(
            restored.domain, restored.measurements, known_total=stored.n, iters=self.final_iterations
        )
        self.seconds_ = {"fit": round(time.monotonic() - started, 2)}
        release_compiled()
        return self

    def sample(self, n: int, rng: np.random.Generator) -> pd.DataFrame:
        if not hasattr(self, "model_"):
            raise RuntimeError("AimSynthesiser is not fitted yet: call fit(data, meta) first.")
        if n < 1:
            raise ValueError(f"The 'n' parameter of AimSynthesiser.sample must be >= 1. Got {n!r}.")
        small = sample_codes(self.model_, n, rng)
        weights = self.value_weights_
        codes = {c: decompress(small[c], self.mapping_[c], weights[c], rng) for c in self.scheme_}
        form = school_form(self.mapping_, self.meta_, self.school_covariates, self.randomised)
        return release(codes, self.prepared_, self.meta_, rng, form, bin_mass=weights)


if TYPE_CHECKING:  # mypy checks the class against every capability it claims
    from trialsynth.synthesisers.base import DifferentiallyPrivate, StoresMeasurements

    _differentiallyprivate: type[DifferentiallyPrivate] = AimSynthesiser
    _storesmeasurements: type[StoresMeasurements] = AimSynthesiser
