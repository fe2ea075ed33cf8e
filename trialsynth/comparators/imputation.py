"""hyperimpute as a cleaning strategy: a frame's missing values filled in the comparator
environment (``defaults.missing_values: hyperimpute``; CART's ``missing="hyperimpute"``)."""

from __future__ import annotations

import pandas as pd

from trialsynth.comparators.client import ComparatorError, Limits, run_job
from trialsynth.comparators.environment import location, status


def impute(frame: pd.DataFrame, *, seed: int, limits: Limits | None = None) -> tuple[pd.DataFrame, dict]:
    """``frame`` (numbers only) with its missing values filled by hyperimpute in the comparator
    environment, and the record of what was imputed (columns, cells, seconds)."""
    env = status(location())
    if not env.ready:
        raise ComparatorError(f"hyperimpute needs the comparator environment: {env.reason}")
    job = {"task": "impute", "seed": seed}
    train = frame.astype("float64")
    done = run_job(
        env.path, job, frames={"train": train}, read_frames=("imputed",), limits=limits or Limits()
    )
    filled = done.frames["imputed"]
    filled.index, filled.columns = frame.index, frame.columns
    return filled, done.result["imputation"]
