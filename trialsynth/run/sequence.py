"""The study's steps in order, for one trial: each step a call into the module that owns it,
each value yielded as it is reached (``pipeline.run_trial`` records them).

Three paths: a trial whose microdata the archive holds (``trial_steps``), a differentially
private release (written as drawn, then measured: ``_private_release``), and a trial known only
by released outputs (``_outputs_steps``).
"""

from __future__ import annotations

import logging
from collections.abc import Generator, Iterator

import numpy as np
import pandas as pd

from trialsynth.data.cleaning import Cleaned, clean_planned
from trialsynth.data.files import write
from trialsynth.data.loading import Loaded, file_hash, load
from trialsynth.data.restore import restore_dropped
from trialsynth.disclosure import risk, uniques
from trialsynth.disclosure.private_remedy import private_rung, private_training, remedy_plan
from trialsynth.disclosure.schools import SchoolsControlled, assign_schools, control_schools
from trialsynth.disclosure.verdicts import Verdicts
from trialsynth.dp.cleaning import clean_public
from trialsynth.dp.units import as_pupils
from trialsynth.errors import TrialDataError
from trialsynth.evaluation.categories import categorise_trial, outputs_only_category
from trialsynth.evaluation.holdout import Holdout, hold_out
from trialsynth.evaluation.trial import Evaluation, evaluate_outputs_only, evaluate_trial
from trialsynth.outputs.supplied import Released, read_released
from trialsynth.plan import TrialPlan
from trialsynth.release.identity import Identity, identify, unchanged
from trialsynth.reports.aggregates import aggregate
from trialsynth.run import measured
from trialsynth.run.rules import file_rules
from trialsynth.run.steps import MethodReplaced, SchoolsSynthesised, Step, Trial, Unmeasured
from trialsynth.streams import Streams
from trialsynth.synthesisers import is_private, preflight, synthesiser_class
from trialsynth.synthesisers.base import (
    Rung,
    Synthesiser,
    capabilities_of,
    is_tunable,
    models_schools,
    models_units,
)
from trialsynth.synthesisers.fitting import (
    Fitted,
    Sampled,
    Tuned,
    build,
    fit,
    output_metrics,
    sample,
    tune,
    with_settings,
)
from trialsynth.synthesisers.routing import OutputsOnly, Route, Skipped, outputs_method, route

log = logging.getLogger(__name__)


# -- the steps a pipeline and a comparison's tuning share ----------------------------------------


def clean_trial(loaded: Loaded, plan: TrialPlan, chosen: Route) -> Cleaned:
    """Appendix A's cleaning with the plan's column roles - or, for a differentially private
    method, the public domain's columns with no decision read from the data (``clean_public``)."""
    cleaning = clean_public if is_private(chosen.method) else clean_planned
    data, meta = cleaning(loaded.frame, plan)
    unit = plan.roles.unit
    units = loaded.frame[unit].to_numpy() if unit and unit in loaded.frame else None  # rows kept in order
    return Cleaned(data, meta, loaded.data_hash, plan.roles.covariates, units)


def holdout_of(cleaned: Cleaned, plan: TrialPlan, method: type[Synthesiser]) -> Holdout:
    """The plan's share of real rows kept from the fit (``evaluation.holdout``; whole pupils of a
    long-format file); a method that synthesises from cleared outputs is fitted on every row."""
    seen = "from_released_outputs" in capabilities_of(method)
    rng = Streams(plan.seed).generator("holdout")
    return hold_out(
        len(cleaned.data), plan.policy.holdout_share, rng, seen_by_synthesiser=seen, units=cleaned.units
    )


def training_rows(plan: TrialPlan, method: type[Synthesiser]) -> tuple[Cleaned, SchoolsControlled]:
    """The rows ``method`` is fitted on for ``plan``'s trial, as the pipeline prepares them:
    loaded, routed to ``method``, cleaned, held out, under school control."""
    loaded = load(plan)
    chosen = route(len(loaded.frame), method.name, plan.policy)
    cleaned = clean_trial(loaded, plan, chosen)
    return cleaned, control_schools(cleaned, holdout_of(cleaned, plan, method), method)


# -- a trial whose microdata the archive holds ----------------------------------------------------


def trial_steps(trial: Trial) -> Iterator[Step]:
    """The study's steps for one trial; yields each value as it is reached."""
    plan, clock = trial.plan, trial.clock
    if plan.problems:
        raise TrialDataError("; ".join(plan.problems))
    if not plan.has_data:
        yield from _outputs_steps(trial)
        return
    with clock.stage("identify"):
        released = read_released(plan)
        identity = identify(plan, file_hash(plan), released, file_rules())
    yield identity
    same = unchanged(trial.sessions, plan, identity, trial.context)
    if same is not None:  # released before with this identity: nothing to synthesise or spend
        yield same
        return
    with clock.stage("load"):
        loaded = load(plan)
    yield loaded
    if loaded.data_hash != identity.parts["data_sha256"]:  # the file changed while it was read
        identity = identify(plan, loaded.data_hash, released, file_rules())
        yield identity
    chosen = route(len(loaded.frame), plan.method, plan.policy, outputs_supplied=released is not None)
    yield chosen  # cleaning never drops a row
    preflight.check_private(plan, chosen)
    with clock.stage("clean"):
        cleaned = clean_trial(loaded, plan, chosen)
    del loaded
    yield cleaned
    preflight.check_route(plan, cleaned.meta, chosen)
    if chosen.method == "none":
        yield Skipped()
        return
    yield from _synthesise(trial, synthesiser_class(chosen.method), cleaned, released, identity)


def _synthesise(
    trial: Trial, method: type[Synthesiser], cleaned: Cleaned, released: Released | None, identity: Identity
) -> Iterator[Step]:
    """Hold out, tune, control schools, charge a private fit, fit and sample; then release."""
    plan, context, clock, streams = trial.plan, trial.context, trial.clock, trial.streams
    held = holdout_of(cleaned, plan, method)
    yield held
    tuned = Tuned(None)
    if is_tunable(method) and (context.comparison is None or context.comparison.tuning is None):
        with clock.stage("tune"):  # (a comparison that tuned the method itself gives its settings)
            n_cols = cleaned.data.shape[1]
            tuned = tune(method, plan, held.fitted_rows, n_cols, streams.seed_of("tune"), context)
        yield tuned
    settings = with_settings(tuned, context)
    if settings is not tuned:  # a comparison's settings, and how they were chosen
        yield settings
    synthesiser = build(method, plan, settings, streams)
    controlled = control_schools(cleaned, held, synthesiser)
    yield controlled
    with clock.stage("fit"):
        training = (controlled.data, controlled.control.fit_meta(cleaned.meta))
        paid = yield from measured.pay(trial, synthesiser, released, identity, training)
        units = held.training_units(cleaned.units)
        fitted = yield from measured.fit_paid(trial, synthesiser, paid, training, released, units)
    yield fitted
    with clock.stage("sample"):
        sampled = sample(fitted, len(cleaned.data), streams)
    if paid is not None and paid.releases:
        yield from _private_release(trial, cleaned, sampled, fitted, held)
    else:
        yield from _release(trial, cleaned, sampled, fitted, held, controlled, identity)


def _release(
    trial: Trial,
    cleaned: Cleaned,
    sampled: Sampled,
    fitted: Fitted,
    held: Holdout,
    controlled: SchoolsControlled,
    identity: Identity,
) -> Iterator[Step]:
    """Gate, evaluate, categorise and check the risks of each draw - the first, then each remedy
    of the method's ladder while a risk is over its limit (``disclosure.risk``), the last a
    differentially private method (``disclosure.private_remedy``) - then write the file and the
    report's view."""
    clock, streams = trial.clock, trial.streams
    training = (controlled.data, controlled.control.fit_meta(cleaned.meta))
    tried: list[tuple[str, tuple[str, ...]]] = []
    exceeded: tuple[str, ...] = ()
    # a comparison measures the method itself: it never climbs to another method
    private = private_rung(trial.plan) if trial.context.comparison is None else None
    rungs = (*risk.ladder(fitted.synthesiser), *([private] if private else []))
    for step, rung in enumerate((None, *rungs)):
        suffix = f"_remedy{step}" if step else ""
        if rung is not None:  # the whole file drawn again, safer, before the file is blocked
            tried.append((rung.name, exceeded))
            yield risk.RemediesTried(tuple(tried))
            if rung.method is not None:
                yield from _private_remedy(trial, rung, held, identity)
                return
            with clock.stage(f"resample{suffix}"):
                if rung.params:
                    refitted = risk.refitted(fitted.synthesiser, rung)
                    fitted = fit(refitted, training, None, held.training_units(cleaned.units))
                    yield fitted  # the released file's settings are the last rung's
                n_rows = len(cleaned.data)
                rng = streams.generator("resample", step - 1)  # each rung its own draws and gate
                sampled = Sampled(risk.redraw_smoothed(fitted.synthesiser, n_rows, rng))
        gate, sampled, risks = yield from _measure(trial, cleaned, sampled, fitted, held, controlled, step)
        exceeded = tuple(risks.exceeded)
        if not risk.draw_again(risks, gate.released):
            break
    if trial.context.comparison is None:
        gate.enforce()
        risks.enforce(tuple(name for name, _ in tried))
    else:  # a comparison records the verdicts and keeps no file the gate would refuse
        verdicts = Verdicts(gate, risks, private_as_drawn=trial.plan.domain_is_public)
        yield verdicts
        if not verdicts.would_release:
            return
    if models_schools(fitted.synthesiser):
        yield SchoolsSynthesised(fitted.synthesiser.schools_drawn())
    with clock.stage("write"):
        yield write(_restored(sampled, cleaned, streams, fitted), trial.plan, trial.context)
    with clock.stage("report"):
        yield aggregate(cleaned.data, sampled.synthetic, cleaned.meta)


def _private_remedy(trial: Trial, rung: Rung, held: Holdout, identity: Identity) -> Iterator[Step]:
    """The ladder's last rung: the trial cleaned on a public domain (``clean_public``), its
    epsilon charged, fitted on the same training pupils by the rung's DP method and released as
    drawn (``_private_release``). A long file's pupils give it ``policy.dp_rows_per_pupil`` rows
    each (``dp.units``: the guarantee is for a pupil), and come back as many, as many rows each."""
    clock, streams = trial.clock, trial.streams
    with clock.stage("resample_private"):
        loaded = load(trial.plan)
        plan = remedy_plan(trial.plan, list(loaded.frame.columns), rung)
        chosen = Route(plan.method, f"the risk ladder's last remedy: {rung.name}")
        yield chosen
        preflight.check_private(plan, chosen, pupils_bounded=True)
        cleaned = clean_trial(loaded, plan, chosen)
        del loaded
        yield cleaned
        synthesiser = build(synthesiser_class(plan.method), plan, Tuned(None), streams)
        units, rows = cleaned.units if plan.roles.unit else None, plan.policy.dp_rows_per_pupil
        held, training = private_training(cleaned, held, plan)
        if units is not None:
            synthesiser.unit_rows = rows  # type: ignore[attr-defined]
        yield MethodReplaced()
        paid = yield from measured.pay(trial, synthesiser, None, identity, (training, cleaned.meta))
        fitted = yield from measured.fit_paid(trial, synthesiser, paid, (training, cleaned.meta), None)
        yield fitted
        n = len(cleaned.data) if units is None else rows * len(np.unique(units.astype(str)))
        sampled = sample(fitted, n, streams)
    drawn = as_pupils(sampled.synthetic, cleaned.meta, rows) if units is not None else None
    sampled = Sampled(drawn[0]) if drawn is not None else sampled
    yield from _private_release(trial, cleaned, sampled, fitted, held, drawn[1] if drawn else None)


def _measure(
    trial: Trial,
    cleaned: Cleaned,
    sampled: Sampled,
    fitted: Fitted,
    held: Holdout,
    controlled: SchoolsControlled,
    step: int,
) -> Generator[Step, None, tuple[uniques.Gate, Sampled, risk.RiskGate]]:
    """One draw (``step``: 0 the first, k the k-th remedy) through the replicated-uniques gate,
    evaluation, category and risk gate."""
    clock, suffix = trial.clock, f"_remedy{step}" if step else ""
    with clock.stage(f"gate{suffix}"):
        gate, sampled = _gate(trial, cleaned, sampled, fitted, controlled, step)
    yield gate
    dealt = assign_schools(
        sampled.synthetic, cleaned.meta, controlled.control, trial.streams.generator("schools")
    )
    sampled = Sampled(dealt) if dealt is not sampled.synthetic else sampled  # labels only
    with clock.stage(f"evaluate{suffix}"):
        evaluation = _evaluate(trial, cleaned, sampled, fitted, held, gate)
    yield evaluation
    yield categorise_trial(evaluation.metrics, cleaned, sampled.synthetic)
    risks = risk.check_risks(evaluation.metrics, trial.plan.policy.risk_limits, fitted.synthesiser)
    yield risks
    return gate, sampled, risks


def _gate(
    trial: Trial,
    cleaned: Cleaned,
    sampled: Sampled,
    fitted: Fitted,
    controlled: SchoolsControlled | None = None,
    step: int = 0,
) -> tuple[uniques.Gate, Sampled]:
    """The replicated-uniques gate on a draw, re-draws from the ``redraw`` stream's ``step``-th
    repetition (from one stream, a whole-file re-draw gave the first rung the first draw's file)."""
    control = controlled.control if controlled is not None else None
    rng = trial.streams.generator("redraw", step)
    gate, synthetic = uniques.gate(cleaned, sampled.synthetic, fitted.synthesiser, rng, control)
    return gate, sampled if synthetic is sampled.synthetic else Sampled(synthetic)


def _evaluate(
    trial: Trial, cleaned: Cleaned, sampled: Sampled, fitted: Fitted, held: Holdout, gate: uniques.Gate
) -> Evaluation:
    """Table 3's metrics with the gate's counts and the method's own measures."""
    measured = {**gate.metrics(), **output_metrics(fitted, sampled.synthetic)}
    units = fitted.synthesiser.drawn_units() if models_units(fitted.synthesiser) else None
    seed = trial.streams.seed_of("evaluate")
    return evaluate_trial(cleaned, sampled.synthetic, seed, held, measured, units)


def _restored(
    sampled: Sampled,
    cleaned: Cleaned,
    streams: Streams,
    fitted: Fitted | None = None,
    units: np.ndarray | None = None,
) -> pd.DataFrame:
    """The released layout: Appendix A's dropped columns put back; a long-format file's rows
    grouped into the pupils the method drew, where it drew them (``models_units``, or
    ``units``)."""
    if fitted is not None and models_units(fitted.synthesiser):
        units = fitted.synthesiser.drawn_units()
    return restore_dropped(sampled.synthetic, cleaned.meta, streams.generator("restore"), units)


def _private_release(
    trial: Trial,
    cleaned: Cleaned,
    sampled: Sampled,
    fitted: Fitted,
    held: Holdout,
    units: np.ndarray | None = None,
) -> Iterator[Step]:
    """A differentially private file is written as the mechanism drew it, before anything else
    reads the real rows; the gate then measures it, evaluation and the category follow, and a
    failure among them is recorded without withdrawing the release (whether a file exists must
    not depend on non-private code). ``units``: a long file's pupil of each row, as drawn. A
    comparison's fit on a drafted domain is not private: measured first, kept as any file is."""
    clock = trial.clock
    drafted = not trial.plan.domain_is_public
    restored = _restored(sampled, cleaned, trial.streams, units=units)
    if not drafted:
        with clock.stage("write"):
            yield write(restored, trial.plan, trial.context)
    try:
        with clock.stage("gate"):
            gate, sampled = _gate(trial, cleaned, sampled, fitted)  # measured, never enforced
        yield gate
        with clock.stage("evaluate"):
            evaluation = _evaluate(trial, cleaned, sampled, fitted, held, gate)
        yield evaluation
        yield categorise_trial(evaluation.metrics, cleaned, sampled.synthetic)
        risks = risk.check_risks(evaluation.metrics, trial.plan.policy.risk_limits, fitted.synthesiser)
        yield risks
        if trial.context.comparison is not None:  # a drafted domain: judged as any other file
            verdicts = Verdicts(gate, risks, private_as_drawn=not drafted)
            yield verdicts
            if not verdicts.would_release:
                return
        if drafted:
            with clock.stage("write"):
                yield write(restored, trial.plan, trial.context)
        with clock.stage("report"):
            yield aggregate(cleaned.data, sampled.synthetic, cleaned.meta)
    except Exception as exc:  # noqa: BLE001 - the release stands; the failure is recorded
        if drafted:
            raise
        log.exception("trial %s: measuring the private release failed", trial.plan.trial_id)
        yield Unmeasured(f"{type(exc).__name__}: {exc}")


# -- a trial known only by released outputs --------------------------------------------------------


def _outputs_steps(trial: Trial) -> Iterator[Step]:
    """Synthesis from released outputs alone: nothing to evaluate against but the outputs
    themselves; the category is ``valid`` and no real record can be reproduced."""
    plan, clock, streams = trial.plan, trial.clock, trial.streams
    with clock.stage("load"):
        released = read_released(plan)
    assert released is not None  # a plan has data or outputs
    identity = identify(plan, None, released, file_rules())
    yield identity
    same = unchanged(trial.sessions, plan, identity, trial.context)
    if same is not None:
        yield same
        return
    method = outputs_method(plan)
    yield OutputsOnly(released, method)
    with clock.stage("fit"):
        fitted = fit(build(synthesiser_class(method), plan, Tuned(None), streams), None, released)
    yield fitted
    with clock.stage("sample"):
        sampled = sample(fitted, released.outputs.n_rows, streams)
    with clock.stage("evaluate"):
        yield evaluate_outputs_only(output_metrics(fitted, sampled.synthetic))
    yield outputs_only_category()
    yield uniques.OutputsOnlyGate()
    with clock.stage("write"):
        yield write(sampled.synthetic, plan, trial.context)
