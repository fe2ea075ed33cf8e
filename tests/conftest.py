"""Shared fixtures: small, seeded, generated trials (no downloads)."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest
import yaml

from registry.demo import TrialShape, demo_roles, make_trial
from trialsynth.cleaning import clean
from trialsynth.meta import TrialMeta

SMALL_SHAPE = TrialShape(800, 17)


def clean_demo(frame: pd.DataFrame) -> tuple[pd.DataFrame, TrialMeta]:
    return clean(frame, trial_id="t", **demo_roles(frame, ["post_test_1", "post_test_2"]))


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
) -> Path:
    """A manifest for ``trials`` (id -> frame) written as CSVs under ``directory``."""
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
    manifest = {"archive": "test", "defaults": defaults or {"small_threshold": 300}, "trials": entries}
    path = directory / "manifest.yaml"
    path.write_text(yaml.safe_dump(manifest, sort_keys=False))
    return path


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path, monkeypatch):
    monkeypatch.setenv("TRIALSYNTH_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("TRIALSYNTH_CATALOGUE_URL", raising=False)
    yield
    assert os.environ.get("TRIALSYNTH_HOME")
