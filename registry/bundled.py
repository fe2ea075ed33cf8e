"""The bundled demo archive used by a bare ``trialsynth run``: one trial per route and one per
trial design beyond two arms, small enough to finish in a few minutes on 2 cores. Generated
deterministically on first use."""

from __future__ import annotations

from pathlib import Path

from registry.demo import DESIGN_SHAPES, TrialShape, write_demo_archive
from trialsynth.defaults import ARCHIVE_SEED

BUNDLED_SEED = ARCHIVE_SEED
BUNDLED_PLAN = (
    TrialShape(9900, 22),  # the study's Magic Breakfast shape -> cart
    TrialShape(1200, 20, cluster_randomised=False),  # Maths Champions shape -> ea
    TrialShape(6500, 24),  # -> cart
    TrialShape(67200, 36),  # Inclusive Learning shape -> mst
    *DESIGN_SHAPES,  # three arms with unrandomised pupils, long format, narrow, factorial
)


def bundled_registry(home: Path) -> Path:
    """Path of the bundled demo manifest under ``home``, writing the archive if it is missing."""
    manifest = home / "demo-archive" / "manifest.yaml"
    if not manifest.is_file():
        write_demo_archive(manifest.parent, seed=BUNDLED_SEED, plan=list(BUNDLED_PLAN))
    return manifest
