"""Missing values as a feature: categorical NA as a category of its own, numeric NA as a 0/1
indicator synthesised beside the value and re-applied after synthesis (Appendix A's route)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

NA_CATEGORY = "NA"
MISSING_SUFFIX = "__missing"


def encode_missing_categories(frame: pd.DataFrame, names: Iterable[str]) -> pd.DataFrame:
    """Categorical NA becomes its own category, ``NA_CATEGORY``; values become text."""
    frame = frame.copy()
    for name in names:
        text = frame[name].map(as_label, na_action="ignore")
        frame[name] = text.astype("object").where(frame[name].notna(), NA_CATEGORY)
    return frame


def plain(value: object) -> object:
    """A numpy scalar as the Python value it holds (labels stored as JSON, compared as Python)."""
    return value.item() if hasattr(value, "item") else value


def as_label(value: object) -> str:
    """A value as text, a whole float as an integer (5.0 as "5"), so codes read alike whatever
    their dtype."""
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def decode_missing_categories(synthetic: pd.DataFrame, labels: Mapping[str, Iterable]) -> pd.DataFrame:
    """Undo ``encode_missing_categories``: the NA category becomes missing, labels real values."""
    synthetic = synthetic.copy()
    for name, values in labels.items():
        lookup = {as_label(v): v for v in values}
        synthetic[name] = synthetic[name].astype("object").map(lambda v, m=lookup: m.get(str(v), np.nan))
    return synthetic


def add_missing_indicators(frame: pd.DataFrame, names: Iterable[str]) -> pd.DataFrame:
    """Add a 0/1 ``<name>__missing`` column for each numeric column that has missing values."""
    frame = frame.copy()
    for name in names:
        if frame[name].isna().any():
            frame[name + MISSING_SUFFIX] = frame[name].isna().astype(int)
    return frame


def apply_missing_indicators(frame: pd.DataFrame) -> pd.DataFrame:
    """Blank every value whose indicator says missing, then drop the indicator columns."""
    frame = frame.copy()
    for indicator in [c for c in frame.columns if c.endswith(MISSING_SUFFIX)]:
        name = indicator[: -len(MISSING_SUFFIX)]
        frame.loc[frame[indicator].astype(int) == 1, name] = np.nan
        frame = frame.drop(columns=indicator)
    return frame
