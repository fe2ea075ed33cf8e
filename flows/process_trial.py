"""One trial through the whole pipeline - the story a newcomer reads first.

The registry plans the trial (its manifest entry and the archive's defaults, parsed once); the
task runs it within the plan's time and memory limits (``trialsynth.run.isolation.run_planned``)
and the engine (``trialsynth.run.pipeline.run_trial``) takes it through the study's steps, in
the order of ``trialsynth.run.sequence``:

identify (an unchanged release stops here) -> load -> route by size -> clean (Appendix A) ->
hold out -> tune -> school control -> charge the epsilon ledger (a DP fit) -> fit -> sample
(cart | mst | aim | ea) -> release gate (replicated uniques) -> evaluate (Table 3, synthgauge) ->
ONS category (Table 4) -> risk gate (one smoothed re-draw) -> atomic write -> report ->
catalogue record.

It is the flow of the ``one-trial`` deployment (an operator regenerating a single trial on a
Prefect server); ``regenerate-archive`` runs the same task for every trial.
"""

from __future__ import annotations

from prefect import flow

from flows.runs import run_context
from tasks.archive import plan_run_task
from tasks.trial import process_trial_task


@flow(name="process-trial")
def process_trial(
    registry: str,
    trial_id: str,
    catalogue_url: str,
    out_dir: str,
    run_id: str | None = None,
    cache_dir: str | None = None,
    force: bool = False,
) -> dict:
    """Process one trial and record the attempt; returns the attempt's summary (no data)."""
    (plan,) = plan_run_task(registry, [trial_id])
    return process_trial_task(plan, catalogue_url, run_context(out_dir, run_id, cache_dir, force))
