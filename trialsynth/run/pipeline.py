"""One trial, end to end, as the study's steps: identify (a release identity that already has a
released file stops here, ``unchanged``) -> load -> route -> clean -> synthesise (tune, fit,
sample) -> gate (re-draw replicated uniques) -> evaluate -> categorise -> write -> record.

``run_trial`` takes the trial's plan (built by the registry) and never reads a manifest. Each step
is a function in ``stages.py`` returning a value; the attempt's catalogue record is assembled from
the values the trial reached, so a failure keeps what was learnt before it. Prefect-free: the
result is a small summary (ids, status, method, category); no real or synthetic rows leave this
function except the released file.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from sqlalchemy.orm import sessionmaker

from trialsynth.disclosure import gate as release_gate

from trialsynth import stages
from trialsynth.catalogue.attempts import finish_attempt, heartbeat, start_attempt, update_attempt
from trialsynth.catalogue.models import Attempt
from trialsynth.catalogue.records import as_record
from trialsynth.errors import TrialDataError, TrialsynthError
from trialsynth.plan import RunContext, TrialPlan
from trialsynth.reports.trial_report import write_reports
from trialsynth.streams import Streams
from trialsynth.synthesisers import synthesiser_class
from trialsynth.synthesisers.base import Redraws, is_tunable
from trialsynth.versions import code_version, package_versions

log = logging.getLogger(__name__)


class Stage(Protocol):
    def record(self) -> dict[str, Any]: ...


@dataclass
class TrialOutcome:
    trial_id: str
    status: str
    method: str | None = None
    ons_category: str | None = None
    error: str | None = None
    duration_s: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


class Stopwatch:
    """Seconds per stage, stored with the attempt."""

    def __init__(self) -> None:
        self.timings: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = round(time.perf_counter() - start, 3)


def run_trial(plan: TrialPlan, sessions: sessionmaker, context: RunContext) -> TrialOutcome:
    """Process one trial and record the attempt in the catalogue; never raises for trial errors."""
    attempt_id = start_attempt(
        sessions,
        run_id=context.run_id,
        archive=plan.archive,
        trial_id=plan.trial_id,
        seed=plan.seed,
        code_version=code_version(),
        comparison=context.comparison.id if context.comparison is not None else None,
    )
    clock, started = Stopwatch(), time.perf_counter()
    reached: list[dict[str, Any]] = []  # the records of the stages reached (never their data)
    ending: dict[str, Any] = {}
    aggregated: stages.Aggregated | None = None  # for the report, never recorded
    with heartbeat(sessions, attempt_id):
        try:
            for value in _steps(plan, sessions, context, attempt_id, clock):
                reached.append(value.record())
                if isinstance(value, stages.Aggregated):
                    aggregated = value
        except TrialsynthError as exc:
            ending = {"status": "failed", "error": str(exc)}
        except Exception as exc:  # noqa: BLE001 - one trial's failure never stops the archive
            log.exception("trial %s failed unexpectedly", plan.trial_id)
            ending = {"status": "failed", "error": f"{type(exc).__name__}: {exc}"}
    record = assemble(plan, reached, ending, compared=context.comparison is not None)
    finish_attempt(sessions, attempt_id, timings=clock.timings, **record)
    if aggregated is not None and aggregated.aggregates is not None and record.get("output_path"):
        report_trial(sessions, attempt_id, aggregated.aggregates, public=context.comparison is None)
    outcome = TrialOutcome(
        trial_id=plan.trial_id,
        status=record["status"],
        method=record.get("method"),
        ons_category=record.get("ons_category"),
        error=record.get("error"),
        duration_s=round(time.perf_counter() - started, 3),
        timings=clock.timings,
    )
    log.info("trial %s %s (%s) in %.1fs", plan.trial_id, outcome.status, outcome.method, outcome.duration_s)
    return outcome


def report_trial(
    sessions: sessionmaker, attempt_id: int, aggregates: dict[str, Any], *, public: bool = True
) -> None:
    """Write the trial's report, public variant and data card beside its released file and
    record the report's path; a report that cannot be written is logged and recorded in the
    attempt's lineage - the release stands."""
    with sessions() as session:
        record = as_record(session.get(Attempt, attempt_id))
    try:
        files = write_reports(record, aggregates, public=public)
    except Exception as exc:  # noqa: BLE001 - the release stands without its report
        log.exception("trial %s: writing the report failed", record["trial_id"])
        lineage = {**(record.get("lineage") or {}), "report_error": f"{type(exc).__name__}: {exc}"}
        update_attempt(sessions, attempt_id, lineage=lineage)
        return
    update_attempt(sessions, attempt_id, report_path=str(files.report))


def assemble(
    plan: TrialPlan, reached: list[dict[str, Any]], ending: dict[str, Any], *, compared: bool = False
) -> dict[str, Any]:
    """The attempt's catalogue fields, from the records of the stages in the order they were
    reached; a comparison's attempt is never staged for release."""
    record: dict[str, Any] = {
        "lineage": {"manifest_entry_sha256": plan.entry_sha256, "packages": package_versions()}
    }
    for stage_record in reached:
        for key, fields in stage_record.items():
            if isinstance(fields, dict) and isinstance(record.get(key), dict):
                fields = {**record[key], **fields}  # e.g. the input hash, then the whole cleaning
            record[key] = fields
    record.update(ending)
    record.setdefault("status", "failed")
    if record["status"] == "succeeded" and record.get("output_path") and not compared:
        # staged: nothing leaves before a person signs it off (``trialsynth.release.signoff``)
        record.update(release="staged", access_tier=plan.policy.access_tier)
    return record


def _steps(
    plan: TrialPlan, sessions: sessionmaker, context: RunContext, attempt_id: int, clock: Stopwatch
) -> Iterator[Stage]:
    """The study's steps for a trial whose microdata the archive holds; yields each value."""
    streams = Streams(plan.seed)
    if plan.problems:
        raise TrialDataError("; ".join(plan.problems))
    if not plan.has_data:
        yield from _steps_from_outputs(plan, sessions, context, streams, clock)
        return
    with clock.stage("identify"):
        released = stages.read_released(plan)
        identity = stages.identify(plan, stages.file_hash(plan), released)
    yield identity
    same = stages.unchanged(sessions, plan, identity, context)
    if same is not None:  # released before with this identity: nothing to synthesise or spend
        yield same
        return
    with clock.stage("load"):
        loaded = stages.load(plan)
    yield loaded
    if loaded.data_hash != identity.parts["data_sha256"]:  # the file changed while it was read
        identity = stages.identify(plan, loaded.data_hash, released)
        yield identity
    route = stages.route_trial(len(loaded.frame), plan, released)  # cleaning never drops a row
    yield route
    stages.check_private(plan, route)
    with clock.stage("clean"):
        cleaned = stages.clean(loaded, plan, route)
    del loaded
    yield cleaned
    stages.check_route(plan, cleaned, route)
    if route.method == "none":
        yield stages.Skipped()
        return
    method = synthesiser_class(route.method)
    held = stages.holdout(cleaned, plan, method, streams)
    yield held
    tuned = stages.Tuned(None)
    if is_tunable(method) and not _settled(context, method):
        with clock.stage("tune"):
            tuned = stages.tune(method, plan, cleaned, held, streams.seed_of("tune"), context)
        yield tuned
    controlled = stages.control_schools(cleaned, held, method)
    yield controlled
    with clock.stage("fit"):
        data = (controlled.data, controlled.control.fit_meta(cleaned.meta), cleaned.data_hash)
        compared = context.comparison is not None
        charge = stages.Charge(attempt_id, identity, forced=context.force, comparison=compared)
        settings = stages.with_settings(tuned, context)
        fitted = stages.fit(method, plan, data, released, settings, streams, sessions, charge)
    if settings is not tuned:  # a comparison's settings, and how they were chosen
        yield settings
    yield fitted
    with clock.stage("sample"):
        sampled = stages.sample(fitted, cleaned, streams)
    if fitted.release is not None:
        yield from _private_release(plan, context, cleaned, sampled, fitted, held, streams, clock)
        return
    tries = 2 if isinstance(fitted.synthesiser, Redraws) else 1  # over a risk limit: one more draw
    risks: release_gate.RiskGate | None = None
    for attempt in range(tries):
        if attempt:  # the whole file drawn again, smoothed, before the file is blocked
            yield stages.RiskRedraw(risks.exceeded if risks is not None else [])
            with clock.stage("resample"):
                sampled = stages.resample_smoothed(fitted, cleaned, streams)
        with clock.stage("gate" if not attempt else "gate_resampled"):
            gate, sampled = stages.gate(cleaned, sampled, fitted, streams, controlled)
        yield gate
        sampled = stages.assign_schools(sampled, cleaned, controlled, streams)  # labels only
        with clock.stage("evaluate" if not attempt else "evaluate_resampled"):
            evaluation = stages.evaluate_trial(cleaned, sampled, fitted, streams, gate, held)
        yield evaluation
        yield stages.categorise_trial(evaluation, cleaned, sampled)
        risks = stages.risk_gate(evaluation, plan, fitted)
        yield risks
        if risks.released or not gate.released:
            break
    gate.enforce()
    assert risks is not None
    risks.enforce()
    with clock.stage("write"):
        yield stages.write(stages.restored(sampled, cleaned, streams), plan, context)
    with clock.stage("report"):
        yield stages.aggregate(cleaned, sampled)


def _settled(context: RunContext, method: type) -> bool:
    """Whether a comparison tuned this method itself (its settings replace the method's tuning)."""
    return context.comparison is not None and context.comparison.tuning is not None


def _private_release(
    plan: TrialPlan,
    context: RunContext,
    cleaned: stages.Cleaned,
    sampled: stages.Sampled,
    fitted: stages.Fitted,
    held: stages.Holdout,
    streams: Streams,
    clock: Stopwatch,
) -> Iterator[Stage]:
    """A differentially private file is written as the mechanism drew it, before anything else
    reads the real rows; the gate then measures it, evaluation and the category follow, and a
    failure among them is recorded without withdrawing the release (whether a file exists must
    not depend on non-private code)."""
    with clock.stage("write"):
        yield stages.write(stages.restored(sampled, cleaned, streams), plan, context)
    try:
        with clock.stage("gate"):
            gate, sampled = stages.gate(cleaned, sampled, fitted, streams)  # measured, never enforced
        yield gate
        with clock.stage("evaluate"):
            evaluation = stages.evaluate_trial(cleaned, sampled, fitted, streams, gate, held)
        yield evaluation
        yield stages.categorise_trial(evaluation, cleaned, sampled)
        yield stages.risk_gate(evaluation, plan, fitted)  # measured, never enforced
        with clock.stage("report"):
            yield stages.aggregate(cleaned, sampled)
    except Exception as exc:  # noqa: BLE001 - the release stands; the failure is recorded
        log.exception("trial %s: measuring the private release failed", plan.trial_id)
        yield stages.Unmeasured(f"{type(exc).__name__}: {exc}")


def _steps_from_outputs(
    plan: TrialPlan, sessions: sessionmaker, context: RunContext, streams: Streams, clock: Stopwatch
) -> Iterator[Stage]:
    """A trial known only by released outputs: synthesis from them, nothing to evaluate against
    but the outputs themselves; the category is ``valid`` and no real record can be reproduced."""
    with clock.stage("load"):
        released = stages.read_released(plan)
    assert released is not None  # a plan has data or outputs
    identity = stages.identify(plan, None, released)
    yield identity
    same = stages.unchanged(sessions, plan, identity, context)
    if same is not None:
        yield same
        return
    yield stages.OutputsOnly(released)
    method = synthesiser_class(released.method)
    with clock.stage("fit"):
        fitted = stages.fit(method, plan, None, released, stages.Tuned(None), streams, sessions)
    yield fitted
    with clock.stage("sample"):
        sampled = stages.sample(fitted, None, streams)
    with clock.stage("evaluate"):
        yield stages.evaluate_outputs_only(fitted, sampled)
    yield stages.outputs_only_category()
    yield stages.outputs_only_gate()
    with clock.stage("write"):
        yield stages.write(sampled.synthetic, plan, context)
