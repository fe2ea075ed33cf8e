"""The JSON shapes of an attempt: the operator's record (``catalogue --json``) and the audit
lineage of a synthetic file (``catalogue --audit``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from trialsynth.catalogue.models import Attempt
from trialsynth.evaluation.metrics import RECORD_METRIC_KEYS

PUBLIC_FIELDS = (
    "trial_id",
    "run_id",
    "status",
    "method",
    "route_reason",
    "n_rows",
    "n_cols",
    "epsilon",
    "ons_category",
    "metrics",
    "error",
    "output_path",
    "report_path",
    "seed",
    "started_at",
    "finished_at",
    "duration_s",
    "code_version",
    "release",
    "access_tier",
    "reviewer",
    "reviewed_at",
    "review_reason",
    "released_path",
)


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()


def as_record(attempt: Attempt) -> dict[str, Any]:
    """The public JSON shape of an attempt (SPEC's ``catalogue --json`` fields, and more)."""
    metrics = attempt.metrics or {}
    record = {name: getattr(attempt, name) for name in PUBLIC_FIELDS}
    record["metrics"] = {key: metrics.get(key) for key in RECORD_METRIC_KEYS} if attempt.metrics else None
    record["started_at"] = _iso(attempt.started_at)
    record["finished_at"] = _iso(attempt.finished_at)
    record["reviewed_at"] = _iso(attempt.reviewed_at)
    record.update(
        archive=attempt.archive,
        attempt_id=attempt.id,
        category_rules=attempt.category_rules,
        params=attempt.params,
        cleaning=attempt.cleaning,
        timings=attempt.timings,
        gate=attempt.gate,
        disclosure=attempt.disclosure,
        analysis=attempt.analysis,
        lineage=attempt.lineage,
        release_identity=attempt.release_identity,
    )
    return record


def audit_record(attempt: Attempt) -> dict[str, Any]:
    """The lineage of one synthetic file: everything needed to say how it was made."""
    cleaning = attempt.cleaning or {}
    lineage = attempt.lineage or {}
    return {
        "trial_id": attempt.trial_id,
        "archive": attempt.archive,
        "run_id": attempt.run_id,
        "attempt_id": attempt.id,
        "status": attempt.status,
        "output_path": attempt.output_path,
        "report_path": attempt.report_path,
        "input_sha256": cleaning.get("input_sha256"),
        "manifest_entry_sha256": lineage.get("manifest_entry_sha256"),
        "release_identity": attempt.release_identity,
        "unchanged_since": lineage.get("unchanged_since"),
        "code_version": attempt.code_version,
        "packages": lineage.get("packages"),
        "seed": attempt.seed,
        "method": attempt.method,
        "route_reason": attempt.route_reason,
        "params": attempt.params,
        "epsilon": attempt.epsilon,
        "metrics": attempt.metrics,
        "ons_category": attempt.ons_category,
        "category_rules": attempt.category_rules,
        "gate": attempt.gate,
        "disclosure": attempt.disclosure,
        "analysis": attempt.analysis,
        "finished_at": _iso(attempt.finished_at),
        "release": attempt.release,
        "access_tier": attempt.access_tier,
        "reviewer": attempt.reviewer,
        "reviewed_at": _iso(attempt.reviewed_at),
        "review_reason": attempt.review_reason,
        "released_path": attempt.released_path,
    }
