"""The demo archive: a manifest and CSVs of public surrogate trials shaped like the study's
archive (most trials near 10k rows, some small, a few above 50k)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml

from registry.codebook import write_codebook
from trialsynth.data.surrogate import (
    PUBLIC_BOUNDS,
    STUDY_SHAPES,
    TrialShape,
    demo_roles,
    design_roles,
    make_trial,
    public_bounds,
)
from trialsynth.defaults import ARCHIVE_SEED

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


# Real archives hold more than two-arm trials: one of each other design (``TrialShape``)
DESIGN_SHAPES = (
    TrialShape(6000, 20, design="three_arm", unrandomised=0.08),  # -> cart
    TrialShape(6000, 0, design="long", waves=3),  # 2,000 pupils x 3 years -> cart
    TrialShape(2500, 0, design="narrow"),  # -> ea
    TrialShape(1500, 16, cluster_randomised=False, design="factorial"),  # -> ea
)


def demo_plan(n_trials: int) -> list[TrialShape]:
    """The size mix of the study's archive: most trials near 10k rows, some small, a few large;
    from the fourth trial on, one of each other design (``DESIGN_SHAPES``) among them."""
    if n_trials < 1:
        raise ValueError(f"n_trials must be at least 1. Got {n_trials!r} instead.")
    designs = list(DESIGN_SHAPES[: max(0, n_trials - 3)])
    plan = _study_mix(n_trials - len(designs))
    return plan[:3] + designs + plan[3:]


def _study_mix(n_trials: int) -> list[TrialShape]:
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


DEMO_HEADER = "# The demo trial's public domain: the data are generated, so reading it off them is safe.\n"


def _demo_codebook(frame, entry: dict, seed: int) -> dict:
    from registry.codebook import draft_codebook
    from trialsynth.plan import Roles, TrialPlan

    fields = ("treatment", "outcomes", "cluster", "unit", "drop", "categorical", "continuous")
    roles = Roles(**{k: tuple(v) if isinstance(v, list) else v for k, v in entry.items() if k in fields})
    plan = TrialPlan(
        archive="demo",
        trial_id=entry["id"],
        roles=roles,
        seed=seed,
        data_path=Path(entry["data"]),
        bounds=entry.get("bounds", {}),
    )
    return draft_codebook(frame, plan)


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
        roles = design_roles(frame, shape)
        key, target = roles.pop("tcap_key", None), roles.pop("tcap_target", None)
        entry = {"id": trial_id, "data": f"data/{trial_id}.csv", **roles}
        if key and target:
            entry["tcap"] = {"key": key, "target": target}
        bounds = {c: list(b) for c, b in public_bounds(frame.columns).items()}
        if bounds:
            entry["bounds"] = bounds
        schools = [c for c in ("school_context_1", "school_context_2") if c in frame.columns]
        if schools and entry.get("cluster"):  # school-level by design: a DP workload weighs them
            entry["school_covariates"] = schools
        if entry.get("cluster"):  # the protocol's randomisation level (public)
            entry["randomised"] = "school" if shape.cluster_randomised else "pupil"
        # every trial's domain is public (the data are generated), in a codebook: the DP route
        # and the risk ladder's private rung read it, and a comparison runs MST and AIM on it
        entry["codebook"] = f"codebooks/{trial_id}.yaml"
        codebook = _demo_codebook(frame, entry, seed)
        write_codebook(directory / entry["codebook"], codebook, header=DEMO_HEADER)
        trials.append(entry)
    manifest = {"archive": "demo", "defaults": {"seed": seed}, "trials": trials}
    path = directory / "manifest.yaml"
    path.write_text(yaml.safe_dump(manifest, sort_keys=False), encoding="utf-8")
    return path
