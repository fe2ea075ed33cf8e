"""One trial through the whole pipeline (the story is ``trialsynth.pipeline.run_trial``):

load -> clean (Appendix A) -> route by size -> synthesise (cart | mst | ea) -> evaluate
(Table 3, synthgauge) -> ONS category (Table 4) -> release gate -> atomic write -> catalogue.
"""

from __future__ import annotations

import uuid

from prefect import flow

from tasks.trial import process_trial_task


@flow(name="process-trial")
def process_trial(
    registry: str, trial_id: str, catalogue_url: str, out_dir: str, run_id: str | None = None
) -> dict:
    """Process one trial and record the attempt; returns the attempt's summary."""
    return process_trial_task(registry, trial_id, out_dir, run_id or str(uuid.uuid4()), catalogue_url)
