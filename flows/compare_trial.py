"""The study's comparison on one trial: every candidate method, one after another (each uses
the machine's cores), recorded in the catalogue as attempts that are never released, then the
comparison written as a table (JSON, CSV) and a page beside the candidates' files.

It is the flow of the ``method-comparison`` deployment (``--param trial_id=ID``) and of
``trialsynth compare``. Artifacts: a progress bar per candidate and the comparison table, ranked (key
``method-comparison``; metrics and the release gate's verdicts only, never rows).
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from prefect import flow
from prefect.artifacts import create_progress_artifact, create_table_artifact, update_progress_artifact

from flows.runs import run_context
from tasks.archive import plan_run_task
from tasks.compare import candidates_task, compare_method_task
from trialsynth.plan import TrialPlan
from trialsynth.reports.comparison import FIDELITY_KEYS, RISK_KEYS, ranked, risk_value, write_comparison
from trialsynth.run.compare import CartBudget


@flow(name="compare-trial")
def compare_trial(
    registry: str,
    trial_id: str,
    catalogue_url: str,
    out_dir: str,
    methods: list[str] | None = None,
    cache_dir: str | None = None,
    comparison_id: str | None = None,
    cart_trials: int = 8,
    cart_seconds: float = 300.0,
    plan: TrialPlan | None = None,
) -> dict[str, Any]:
    """Every candidate (or those ``methods`` names) on the trial; returns the rows and where the
    comparison was written. A caller that has planned the trial already (the CLI) passes ``plan``
    and the manifest is not read again."""
    comparison_id = comparison_id or str(uuid.uuid4())
    if plan is None:
        (plan,) = plan_run_task(registry, [trial_id])
    chosen = candidates_task(plan, methods)
    context = run_context(out_dir, comparison_id, cache_dir)
    budget = CartBudget(trials=cart_trials, seconds=cart_seconds)
    progress = create_progress_artifact(progress=0.0, description=f"comparing methods on {trial_id}")
    rows = []
    for index, candidate in enumerate(chosen, 1):
        future = compare_method_task.submit(plan, candidate, catalogue_url, context, comparison_id, budget)
        rows.append(future.result())
        update_progress_artifact(progress, progress=100.0 * index / len(chosen))
    rows = ranked(rows)
    folder = Path(out_dir).resolve() / "comparisons" / comparison_id / plan.archive / plan.trial_id
    paths = write_comparison(
        rows,
        folder,
        archive=plan.archive,
        trial_id=plan.trial_id,
        comparison_id=comparison_id,
    )
    table = [
        {
            "rank": r["rank"],
            "method": r["method"],
            "status": r["status"],
            "category": r["ons_category"] or "",
            "would_release": r["would_release"],
            "over": ", ".join(r["over"]),
            "fit_s": r["fit_s"],
        }
        | {key: r["metrics"].get(key) for key in FIDELITY_KEYS}
        | {key: risk_value(r, key) for key in RISK_KEYS}
        for r in rows
    ]
    create_table_artifact(table, key="method-comparison", description=f"methods compared on {trial_id}")
    return {"comparison_id": comparison_id, "rows": rows, "files": {k: str(v) for k, v in paths.items()}}
