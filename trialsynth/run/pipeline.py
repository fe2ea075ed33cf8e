"""One trial, end to end, as the study's steps: identify (a release identity that already has a
released file stops here, ``unchanged``) -> load -> route -> clean -> hold out -> tune -> control
schools -> charge (a private fit) -> fit -> sample -> gate (re-draw replicated uniques) ->
evaluate -> categorise -> risk gate (a ladder of remedies, the last a DP method) -> write -> report.

``run_trial`` takes the trial's plan (built by the registry) and never reads a manifest. Each step
is a function of the module that owns it (``data``, ``synthesisers``, ``disclosure``,
``evaluation``, ``release``, ``catalogue.ledger``) returning a value with a ``record()``; the
attempt's catalogue record is assembled from the values the trial reached, so a failure keeps what
was learnt before it. Prefect-free: the result is a small summary (ids, status, method,
category); no real or synthetic rows leave this function except the released file.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import sessionmaker

from trialsynth.catalogue.attempts import finish_attempt, heartbeat, start_attempt, update_attempt
from trialsynth.catalogue.models import Attempt
from trialsynth.catalogue.records import as_record
from trialsynth.errors import TrialsynthError
from trialsynth.plan import RunContext, TrialPlan
from trialsynth.reports.aggregates import Aggregated
from trialsynth.reports.trial_report import ReportFiles, rendered_by, rerender_reports, write_reports
from trialsynth.run.sequence import trial_steps
from trialsynth.run.steps import Stopwatch, Trial
from trialsynth.versions import code_version, package_versions

log = logging.getLogger(__name__)


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
    aggregated: Aggregated | None = None  # for the report, never recorded
    with heartbeat(sessions, attempt_id):
        try:
            for value in trial_steps(Trial(plan, sessions, context, attempt_id, clock)):
                reached.append(value.record())
                if isinstance(value, Aggregated):
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
    elif record["status"] == "unchanged":
        rerender_unchanged(sessions, attempt_id, record)
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
    _, files = _pages(
        sessions, attempt_id, lambda record: write_reports(record, aggregates, public=public), "report_error"
    )
    if files is not None:
        update_attempt(sessions, attempt_id, report_path=str(files.report))


def rerender_unchanged(sessions: sessionmaker, attempt_id: int, record: dict[str, Any]) -> None:
    """An unchanged release whose pages other code rendered (another commit: the page says which,
    ``rendered_by``) gets them rendered again by this code from the aggregates kept beside its
    report - no row is read, nothing is re-synthesised - and the attempt's lineage says which
    pages and why; pages that cannot be rendered leave the release as it was, the failure
    recorded."""
    report = record.get("report_path")
    before = rendered_by(Path(report)) if report else None
    if not report or before == code_version():
        return
    current, files = _pages(sessions, attempt_id, rerender_reports, "rerender_error")
    if files is None:
        return
    rerendered = {
        "pages": [p.name for p in (files.report, files.public, files.card)],
        "because": f"rendered by {before or 'unknown code'}, not by this code ({code_version()}); "
        "the file was not re-synthesised",
    }
    update_attempt(sessions, attempt_id, lineage={**(current.get("lineage") or {}), "rerendered": rerendered})


def _pages(
    sessions: sessionmaker,
    attempt_id: int,
    write: Callable[[dict[str, Any]], ReportFiles | None],
    failed: str,
) -> tuple[dict[str, Any], ReportFiles | None]:
    """The attempt's record and its pages written by ``write``; a failure is logged and recorded
    in the attempt's lineage under ``failed`` (None: no pages) - the release stands."""
    with sessions() as session:
        record = as_record(session.get(Attempt, attempt_id))
    try:
        return record, write(record)
    except Exception as exc:  # noqa: BLE001 - the release stands without its pages
        log.exception("trial %s: writing the pages failed", record["trial_id"])
        lineage = {**(record.get("lineage") or {}), failed: f"{type(exc).__name__}: {exc}"}
        update_attempt(sessions, attempt_id, lineage=lineage)
        return record, None


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
