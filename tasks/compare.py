"""The comparison's task: one candidate method on one trial (``trialsynth.run.compare``)."""

from __future__ import annotations

from typing import Any

from prefect import get_run_logger, task

from trialsynth.catalogue.session import sessions_for
from trialsynth.plan import RunContext, TrialPlan
from trialsynth.run.compare import Candidate, CartBudget, candidates, run_candidate, trial_rows


@task(name="compare-candidates", persist_result=False)
def candidates_task(plan: TrialPlan, methods: list[str] | None) -> list[Candidate]:
    """The trial's candidates (those ``methods`` names), each with why it cannot run, if so."""
    return candidates(plan, trial_rows(plan), methods)


@task(name="compare-method", task_run_name="compare-{candidate.label}", persist_result=False)
def compare_method_task(
    plan: TrialPlan,
    candidate: Candidate,
    catalogue_url: str,
    context: RunContext,
    comparison_id: str,
    budget: CartBudget,
) -> dict[str, Any]:
    """Run one candidate as a comparison attempt; returns its row (metrics, never rows of data)."""
    say = get_run_logger().info
    return run_candidate(
        plan, sessions_for(catalogue_url), context, candidate, comparison_id, budget, say
    ).to_dict()
