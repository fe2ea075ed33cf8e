"""The study's comparison, for one trial: every candidate method run through the same pipeline,
evaluated on the same metrics and checks, and recorded as attempts that are never released.

Candidates (``candidates``): CART on both engines (``cart``: the vectorised trees; ``cart-synthpop``:
synthpop-py), MST, AIM (on the trial's public domain, else on one drafted from its data for this
comparison alone: ``drafted_domain``), synthcity's generators (``gan``, ``pategan``, ``ctgan``:
where the comparator environment is built, else listed as unavailable with the reason), and the
EA where the trial is small enough to route there (fewer rows than ``small_threshold``).

Every candidate goes through the release gate as a release would - the replicated-uniques rule,
each risk against its limit, the method's ladder of remedies - and its verdicts are recorded
beside its metrics (``disclosure.verdicts``), never enforced: a candidate over a limit has
``succeeded`` with ``would_release`` false, and its file is not kept. ``failed`` is a candidate
that produced no file.

Tuning, each within a stated budget:
- CART: visit order (the data's; the study's tuned order - treatment, outcomes, pupil
  variables, school variables) and minimum leaf size (5-60, log scale: never below R synthpop's
  5), chosen by optuna's TPE sampler over ``CartBudget.trials`` fits or ``CartBudget.seconds``,
  whichever ends first, the route's own settings first. The trial's training rows (the
  pipeline's holdout is never read) are split again: each setting is fitted on four fifths and
  scored by |log pMSE ratio| (1: the propensity model cannot tell the file from the real rows)
  plus 10 x how far ``dcr_share`` - the share of synthetic rows nearer a fitted row than a row
  of the fifth left out - exceeds the trial's risk limit, so a setting that copies its rows loses
  whatever its pMSE. One draw per setting; the scores are in-sample for the comparison's own CART
  (the comparison also runs ``cart-default``, the route's settings untuned). CART is not private,
  so tuning on real rows costs no budget; it is recorded with the attempt (``params.tuning``).
- MST: tuned as the large route tunes it - on a public surrogate of the trial's shape, never on
  its rows (``mst_tuning``); AIM takes the trial's epsilon, else min(1, cap). No DP method is
  tuned on real data, so none is charged for tuning; their comparison fits are not charged
  either, because a comparison's files are never released (``run.sequence``). A choice of the
  production method or epsilon made by reading this comparison is a choice made on the real
  data, which no release's epsilon covers: the comparison informs the archive's policy, it is
  not itself private. synthcity's generators with a nominal epsilon take the trial's, else 1;
  they are not DP (``synthesisers.synthcity_methods``).
- synthcity's generators: their defaults in ``synthesisers.synthcity_methods`` (sized for a CPU;
  not tuned: one DP-GAN fit on 9,900 rows costs minutes).
"""

from __future__ import annotations

import logging
import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy.orm import sessionmaker

from trialsynth.catalogue.queries import comparison_attempts
from trialsynth.catalogue.records import as_record
from trialsynth.comparators.environment import location, status
from trialsynth.data.cleaning import clean_planned
from trialsynth.data.loading import load
from trialsynth.domain import PublicDomain
from trialsynth.dp.domain import draft_domain
from trialsynth.errors import TrialsynthError
from trialsynth.evaluation.metrics.evaluate import evaluate
from trialsynth.plan import Comparison, RunContext, TrialPlan
from trialsynth.run.pipeline import run_trial
from trialsynth.run.sequence import training_rows
from trialsynth.streams import Streams
from trialsynth.synthesisers import is_private
from trialsynth.synthesisers.cart import CartSynthesiser

log = logging.getLogger(__name__)

COMPARATORS = ("gan", "pategan", "ctgan")


@dataclass(frozen=True)
class Candidate:
    label: str  # its name in the comparison (a method, or a method with settings)
    method: str  # the registered method
    settings: tuple[tuple[str, Any], ...] = ()
    tuning: str = "none"  # "cart" (optuna on the training rows), "surrogate" (the method's own)
    unavailable: str = ""  # why it cannot run here ("" when it can)
    drafts_domain: bool = False  # a DP method on a trial that declares no public domain


DRAFTED = (
    "drafted from the trial's own data for this comparison: not public, so this file is not "
    "differentially private; no release reads this domain"
)


def drafted_domain(plan: TrialPlan) -> PublicDomain:
    """A domain read off the trial's cleaned data (levels, ranges within the manifest's bounds,
    missing states, precision), so that a DP method can be compared on a trial that declares
    none. Read from private rows, it voids the guarantee: it lives in this comparison's plan
    alone (recorded with the candidate's settings as ``DRAFTED``), is never stored with
    measurements, and a release never sees it (``trialsynth codebook`` drafts one for review)."""
    data, meta = clean_planned(load(plan).frame, plan)
    return replace(draft_domain(data, meta.kinds, dict(plan.bounds), source=DRAFTED), public=False)


@dataclass(frozen=True)
class CartBudget:
    trials: int = 8
    seconds: float = 300.0
    min_leaf: tuple[int, int] = (5, 60)
    split: float = 0.2  # share of the training rows each setting is scored against (dcr_share)
    copy_penalty: float = 10.0  # per unit of dcr_share over the trial's limit


def candidates(plan: TrialPlan, n_rows: int, methods: list[str] | None = None) -> list[Candidate]:
    """Every candidate for the trial (or those whose labels ``methods`` names)."""
    env = status(location())
    drafts = plan.domain is None  # a comparison drafts one from the data (``drafted_domain``)
    out = [
        Candidate("cart", "cart", tuning="cart"),
        Candidate("cart-default", "cart", (("min_leaf", 5),)),  # the route's settings, untuned
        Candidate("cart-synthpop", "cart", (("engine", "synthpop"),)),
        Candidate("mst", "mst", tuning="surrogate", drafts_domain=drafts),
        Candidate("aim", "aim", drafts_domain=drafts),
    ]
    out += [Candidate(name, name, unavailable=env.reason) for name in COMPARATORS]
    if n_rows < plan.policy.small_threshold:
        out.append(Candidate("ea", "ea"))
    if methods:
        known = {c.label for c in out}
        unknown = sorted(set(methods) - known)
        if unknown:
            raise TrialsynthError(
                f"no candidate named {unknown} for this trial (candidates: {sorted(known)})"
            )
        out = [c for c in out if c.label in methods]
    return out


def trial_rows(plan: TrialPlan) -> int:
    """How many rows the trial's data file holds (what decides whether the EA applies)."""
    from trialsynth.data.loading import load_trial_data

    if plan.data_path is None:
        raise TrialsynthError(
            f"trial {plan.trial_id!r} has no data file: there is nothing to compare methods on"
        )
    return len(load_trial_data(plan.data_path, plan.trial_id)[0])


STUDY_ORDER = "study"


def study_order(columns: list[str], meta: Any) -> list[str]:
    """The study's tuned visiting order: treatment, outcomes (pre and post), pupil variables,
    then school variables (and the school, last)."""
    first = [c for c in (meta.treatment,) if c in columns]
    outcomes = [c for c in columns if c in meta.outcomes or c.startswith(("pre_", "post_"))]
    school = [c for c in columns if c.startswith("school") and c != meta.cluster]
    school += [c for c in (meta.cluster,) if c in columns]
    rest = [c for c in columns if c not in first + outcomes + school]
    return [*first, *[c for c in outcomes if c not in first], *rest, *school]


def tune_cart(
    plan: TrialPlan, budget: CartBudget, say: Callable[[str], None] = log.info
) -> tuple[dict[str, Any], dict[str, Any]]:
    """CART's visit order and minimum leaf size, chosen by optuna on the training rows (the
    pipeline's own holdout and school control, from the trial's seed). Returns the settings and
    the record of the search."""
    import optuna

    streams = Streams(plan.seed)
    cleaned, controlled = training_rows(plan, CartSynthesiser)
    data, meta = controlled.data, controlled.control.fit_meta(cleaned.meta)
    orders = {"data": None, STUDY_ORDER: study_order(list(data.columns), meta)}
    seed = streams.seed_of("tune")
    draws = streams.generator("tune")  # the fits run one after another: one stream serves them all
    left_out = draws.random(len(data)) < budget.split  # scored against, never fitted
    fitted_rows = data.loc[~left_out].reset_index(drop=True)
    limit = dict(plan.policy.risk_limits).get("dcr_share", 1.0)
    base = CartSynthesiser.params_from(plan)  # as the candidate will run (its missing-value strategy)
    started = time.perf_counter()
    trials: list[dict[str, Any]] = []

    def objective(trial: optuna.Trial) -> float:
        order = trial.suggest_categorical("order", list(orders))
        min_leaf = trial.suggest_int("min_leaf", *budget.min_leaf, log=True)
        cart = CartSynthesiser(**base, column_order=orders[order], min_leaf=min_leaf, random_state=seed)
        synthetic = cart.fit(fitted_rows, meta).sample(len(fitted_rows), draws)
        scores = evaluate(data, synthetic, meta, seed, holdout=left_out)
        ratio, dcr = scores.get("pmse_ratio"), scores.get("dcr_share")
        score = abs(math.log(ratio)) if ratio and ratio > 0 else math.inf
        score += budget.copy_penalty * max(0.0, (dcr or 0.0) - limit)
        trials.append(
            {"order": order, "min_leaf": min_leaf, "pmse_ratio": ratio, "dcr_share": dcr, "score": score}
        )
        say(
            f"  cart tuning {trial.number + 1}/{budget.trials}: order {order}, "
            f"min leaf {min_leaf}: score {score:.3g}"
        )
        return score

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="minimize", sampler=optuna.samplers.TPESampler(seed=seed))
    study.enqueue_trial({"order": "data", "min_leaf": 5})  # the route's own settings first
    study.optimize(objective, n_trials=budget.trials, timeout=budget.seconds)
    best = study.best_params
    settings = {"column_order": orders[best["order"]], "min_leaf": int(best["min_leaf"])}
    record = {
        "sampler": "optuna TPE",
        "objective": "|log pMSE ratio| + 10 x (dcr_share over its limit); "
        "four fifths of the training rows fitted, one fifth scored against",
        "budget": {"trials": budget.trials, "seconds": budget.seconds},
        "trials": trials,
        "best": {"order": best["order"], "min_leaf": int(best["min_leaf"])},
        "seconds": round(time.perf_counter() - started, 1),
    }
    return settings, record


@dataclass
class Row:
    """One candidate's line of the comparison."""

    method: str
    status: str
    metrics: dict[str, Any] = field(default_factory=dict)
    ons_category: str | None = None
    fit_s: float | None = None
    seconds: float | None = None
    tune_s: float | None = None
    epsilon: float | None = None
    error: str | None = None
    domain: str | None = None  # where a DP candidate's domain came from (``DRAFTED``: this comparison)
    # the release gate's verdict on each of its measures (``disclosure.verdicts``), never enforced
    verdicts: dict[str, dict[str, Any]] = field(default_factory=dict)
    would_release: bool | None = None
    attempt_id: int | None = None
    output_path: str | None = None
    report_path: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(vars(self))


def compare_trial(
    plan: TrialPlan,
    sessions: sessionmaker,
    context: RunContext,
    chosen: list[Candidate],
    *,
    comparison_id: str | None = None,
    budget: CartBudget = CartBudget(),
    say: Callable[[str], None] = log.info,
) -> list[Row]:
    """Run every candidate on the trial, one after another; returns a row per candidate."""
    comparison_id = comparison_id or str(uuid.uuid4())
    rows = []
    for index, candidate in enumerate(chosen, 1):
        say(f"[{index}/{len(chosen)}] {candidate.label}")
        rows.append(run_candidate(plan, sessions, context, candidate, comparison_id, budget, say))
        say(f"[{index}/{len(chosen)}] {candidate.label}: {rows[-1].status}")
    return rows


def run_candidate(
    plan: TrialPlan,
    sessions: sessionmaker,
    context: RunContext,
    candidate: Candidate,
    comparison_id: str,
    budget: CartBudget = CartBudget(),
    say: Callable[[str], None] = log.info,
) -> Row:
    """One candidate through the pipeline as a comparison attempt (``plan.Comparison``)."""
    if candidate.unavailable:
        return Row(candidate.label, "unavailable", error=candidate.unavailable)
    if candidate.drafts_domain:
        plan = replace(plan, domain=drafted_domain(plan))
    settings, tune_s, tuning = dict(candidate.settings), None, None
    if candidate.tuning == "cart":
        started = time.perf_counter()
        try:
            tuned, tuning = tune_cart(plan, budget, say)
        except Exception as exc:  # noqa: BLE001 - a failed search leaves the route's settings
            log.exception("trial %s: tuning CART failed", plan.trial_id)
            tuned, tuning = {"min_leaf": 5}, {"error": f"{type(exc).__name__}: {exc}"}
        settings.update(tuned)
        tune_s = round(time.perf_counter() - started, 1)
    comparison = Comparison(comparison_id, candidate.label, tuple(settings.items()), tuning)
    outcome = run_trial(
        replace(plan, method=candidate.method), sessions, replace(context, comparison=comparison)
    )
    with sessions() as session:
        attempts = [a for a in comparison_attempts(session, comparison_id) if a.trial_id == plan.trial_id]
        record = as_record(attempts[-1]) if attempts else {}
    timings = record.get("timings") or {}
    disclosure = record.get("disclosure") or {}
    if tune_s is None and "tune" in timings:
        tune_s = timings["tune"]
    return Row(
        method=candidate.label,
        status=outcome.status,
        metrics={k: v for k, v in (record.get("metrics") or {}).items() if v is not None},
        ons_category=outcome.ons_category,
        fit_s=timings.get("fit"),
        seconds=outcome.duration_s,
        tune_s=tune_s,
        epsilon=record.get("epsilon"),
        error=outcome.error,
        domain=plan.domain.source if plan.domain is not None and is_private(candidate.method) else None,
        verdicts=disclosure.get("verdicts") or {},
        would_release=disclosure.get("would_release"),
        attempt_id=record.get("attempt_id"),
        output_path=record.get("output_path"),
        report_path=record.get("report_path"),
    )
