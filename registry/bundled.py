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


BUNDLE_VERSION = "2"  # 2: the large trial's public domain in a codebook


def bundled_registry(home: Path) -> Path:
    """Path of the bundled demo manifest under ``home``, writing the archive if it is missing or
    was written by a version of this bundle that differs (``BUNDLE_VERSION``)."""
    manifest = home / "demo-archive" / "manifest.yaml"
    marker = manifest.parent / "bundle-version"
    current = marker.read_text().strip() if marker.is_file() else None
    if not manifest.is_file() or current != BUNDLE_VERSION:
        write_demo_archive(manifest.parent, seed=BUNDLED_SEED, plan=list(BUNDLED_PLAN))
        marker.write_text(BUNDLE_VERSION)
    return manifest
