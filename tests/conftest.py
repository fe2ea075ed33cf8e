"""Shared fixtures: small, seeded, generated trials (no downloads)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pandas as pd
import pytest
import yaml

from registry.manifest import load_manifest
from registry.plans import build_plan
from trialsynth.data.cleaning import clean
from trialsynth.data.surrogate import TrialShape, demo_roles, make_trial
from trialsynth.meta import TrialMeta
from trialsynth.plan import Roles, RunContext, TrialPlan
from trialsynth.run.pipeline import TrialOutcome, run_trial

SMALL_SHAPE = TrialShape(800, 17)
# Pipeline tests run with the default risk limits. CART on a few hundred rows sits close to its
# training rows (dcr_share about 0.7, inference risk about 0.3: the default limits block such
# files, as ``test_pipeline.test_a_small_memorising_cart_file_is_blocked_by_the_risk_limits``
# shows); a test of another mechanic that needs such a file released passes
# ``risk_limits=NO_RISK_LIMITS`` and says why.
NO_RISK_LIMITS = {
    "singling_out_risk": 1.0,
    "linkability_risk": 1.0,
    "inference_risk": 1.0,
    "dcr_share": 1.0,
    "school_reidentification": 1.0,
}


def clean_demo(frame: pd.DataFrame) -> tuple[pd.DataFrame, TrialMeta]:
    return clean(frame, Roles.of(**demo_roles(frame, ["post_test_1", "post_test_2"])), trial_id="t")


@pytest.fixture(scope="session")
def raw_trial() -> pd.DataFrame:
    return make_trial(SMALL_SHAPE, seed=11, empty_column=True)


@pytest.fixture(scope="session")
def cleaned_trial(raw_trial) -> tuple[pd.DataFrame, TrialMeta]:
    return clean_demo(raw_trial)


def write_archive(
    directory: Path,
    trials: dict[str, pd.DataFrame],
    defaults: dict | None = None,
    extra: dict[str, dict] | None = None,
    risk_limits: dict[str, float] | None = None,
) -> Path:
    """A manifest for ``trials`` (id -> frame) written as CSVs under ``directory``; the archive's
    default risk limits unless ``risk_limits`` replaces them."""
    (directory / "data").mkdir(parents=True, exist_ok=True)
    entries = []
    for trial_id, frame in trials.items():
        frame.to_csv(directory / "data" / f"{trial_id}.csv", index=False)
        entries.append(
            {
                "id": trial_id,
                "data": f"data/{trial_id}.csv",
                "treatment": "treatment",
                "outcomes": ["post_test_1", "post_test_2"],
                "cluster": "school_id",
                "drop": ["pupil_id"],
                "categorical": ["ks2_band"],
                **(extra or {}).get(trial_id, {}),
            }
        )
    defaults = dict(defaults or {"small_threshold": 300})
    if risk_limits is not None:
        defaults.setdefault("risk_limits", risk_limits)
    manifest = {"archive": "test", "defaults": defaults, "trials": entries}
    path = directory / "manifest.yaml"
    path.write_text(yaml.safe_dump(manifest, sort_keys=False))
    return path


def plan_of(manifest: Path, trial_id: str) -> TrialPlan:
    """The plan the registry builds for ``trial_id`` of the manifest at ``manifest``."""
    parsed = load_manifest(manifest)
    return build_plan(parsed, parsed.trial(trial_id))


def context_in(directory: Path, run_id: str | None = None, force: bool = False) -> RunContext:
    return RunContext(
        run_id=run_id or str(uuid.uuid4()),
        out_dir=directory / "out",
        cache_dir=Path(os.environ["TRIALSYNTH_HOME"]),
        force=force,
    )


def run_registered(
    manifest: Path, trial_id: str, directory: Path, sessions, run_id: str | None = None, force: bool = False
) -> TrialOutcome:
    """Run one trial of a manifest through the engine, as a flow's task does."""
    return run_trial(plan_of(manifest, trial_id), sessions, context_in(directory, run_id, force))


def public_domain(frame: pd.DataFrame) -> dict:
    """The ``domain`` of a manifest entry with ``write_archive``'s roles, drafted from a generated
    trial (its data are public, so reading the domain off them discloses nothing)."""
    from registry.codebook import draft_codebook
    from trialsynth.data.surrogate import public_bounds
    from trialsynth.plan import Roles

    roles = Roles(
        treatment="treatment",
        outcomes=("post_test_1", "post_test_2"),
        cluster="school_id",
        drop=("pupil_id",),
        categorical=("ks2_band",),
    )
    plan = TrialPlan(
        archive="test",
        trial_id="x",
        roles=roles,
        seed=1,
        data_path=Path("x.csv"),
        bounds=public_bounds(frame.columns),
    )
    return draft_codebook(frame, plan)


@pytest.fixture()
def sessions(tmp_path):
    """A fresh SQLite catalogue for one test."""
    from trialsynth.catalogue.session import make_engine, make_sessionmaker

    return make_sessionmaker(make_engine(f"sqlite:///{tmp_path / 'catalogue.db'}"))


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path, monkeypatch):
    """Every test gets its own TRIALSYNTH_HOME and no catalogue URL from the environment."""
    monkeypatch.setenv("TRIALSYNTH_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("TRIALSYNTH_CATALOGUE_URL", raising=False)


@pytest.fixture(scope="session")
def comparator_env():
    """The built comparator environment (``trialsynth env create comparators``) for tests marked
    ``comparators``: they skip without it, unless ``TRIALSYNTH_REQUIRE_COMPARATORS`` is set
    (``.ci/run`` builds the environment and sets it): then they fail."""
    from trialsynth.comparators.environment import location, status

    current = status(location())
    if not current.ready:
        if os.environ.get("TRIALSYNTH_REQUIRE_COMPARATORS"):
            pytest.fail(f"TRIALSYNTH_REQUIRE_COMPARATORS is set and {current.reason}")
        pytest.skip(current.reason)
    return current
