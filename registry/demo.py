"""The demo archive: a manifest and CSVs of public surrogate trials shaped like the study's
archive (most trials near 10k rows, some small, a few above 50k)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml

from trialsynth.defaults import ARCHIVE_SEED
from trialsynth.surrogate import (
    PUBLIC_BOUNDS,
    STUDY_SHAPES,
    TrialShape,
    demo_roles,
    make_trial,
    public_bounds,
)

__all__ = [
    "PUBLIC_BOUNDS",
    "STUDY_SHAPES",
    "TrialShape",
    "demo_plan",
    "demo_roles",
    "make_trial",
    "public_bounds",
    "write_demo_archive",
]


def demo_plan(n_trials: int) -> list[TrialShape]:
    """The size mix of the study's archive: most trials near 10k rows, some small, a few large."""
    if n_trials < 1:
        raise ValueError(f"n_trials must be at least 1. Got {n_trials!r} instead.")
    plan = [TrialShape(*STUDY_SHAPES["mid"])]
    if n_trials >= 2:
        plan.append(TrialShape(*STUDY_SHAPES["small"], cluster_randomised=False))
    if n_trials >= 3:
        plan.append(TrialShape(*STUDY_SHAPES["large"]))
    rng = np.random.default_rng(len(plan) + n_trials)
    for i in range(len(plan), n_trials):
        if i % 8 == 7:
            plan.append(TrialShape(int(rng.integers(1000, 4800)), int(rng.integers(14, 24))))
        elif i % 16 == 10:
            plan.append(TrialShape(int(rng.integers(50000, 70000)), int(rng.integers(30, 40))))
        else:
            rows = int(np.clip(rng.normal(10000, 2500), 5200, 30000))
            plan.append(TrialShape(rows, int(rng.integers(18, 32)), bool(rng.random() < 0.7)))
    return plan


def write_demo_archive(
    directory: str | Path, n_trials: int = 6, seed: int = ARCHIVE_SEED, plan: list[TrialShape] | None = None
) -> Path:
    """Write ``manifest.yaml`` and one CSV per trial into ``directory``; return the manifest path."""
    directory = Path(directory)
    (directory / "data").mkdir(parents=True, exist_ok=True)
    plan = plan or demo_plan(n_trials)
    trials = []
    for i, shape in enumerate(plan):
        trial_id = f"trial-{i + 1:03d}"
        frame = make_trial(shape, seed + i, empty_column=i % 3 == 0)
        frame.to_csv(directory / "data" / f"{trial_id}.csv", index=False)
        roles = demo_roles(frame)
        key, target = roles.pop("tcap_key"), roles.pop("tcap_target")
        bounds = {c: list(b) for c, b in public_bounds(frame.columns).items()}
        trials.append(
            {
                "id": trial_id,
                "data": f"data/{trial_id}.csv",
                **roles,
                "tcap": {"key": key, "target": target},
                "bounds": bounds,
            }
        )
    manifest = {"archive": "demo", "defaults": {"seed": seed}, "trials": trials}
    path = directory / "manifest.yaml"
    path.write_text(yaml.safe_dump(manifest, sort_keys=False), encoding="utf-8")
    return path
