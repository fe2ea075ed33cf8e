"""The synthesiser contract every method follows (scikit-learn's estimator conventions).

``__init__`` only stores keyword parameters; ``fit(data, meta)`` validates them, learns from the
cleaned trial and returns ``self``; ``sample(n, rng)`` returns ``n`` synthetic rows with the
cleaned trial's columns and dtypes (missing values as missing); ``get_params()`` returns every
setting, recorded in the catalogue so any run can be reproduced. Fitted attributes end in ``_``;
a differentially private method sets ``epsilon_spent_``.
"""

from __future__ import annotations

from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from trialsynth.meta import TrialMeta


@runtime_checkable
class Synthesiser(Protocol):
    name: ClassVar[str]

    def fit(self, data: pd.DataFrame, meta: TrialMeta) -> Synthesiser: ...

    def sample(self, n: int, rng: np.random.Generator) -> pd.DataFrame: ...

    def get_params(self) -> dict[str, Any]: ...


def check_choice(owner: str, name: str, value: object, allowed: tuple) -> None:
    if value not in allowed:
        raise ValueError(
            f"The {name!r} parameter of {owner} must be one of {allowed}. Got {value!r} instead."
        )


ColumnFormat = tuple[object, int]  # (dtype, decimal places)


def column_formats(real: pd.DataFrame) -> dict[str, ColumnFormat]:
    """Dtype and decimal precision of each column, learnt at fit time (no rows are kept)."""
    formats: dict[str, ColumnFormat] = {}
    for name in real.columns:
        numeric = pd.api.types.is_numeric_dtype(real[name]) and not pd.api.types.is_bool_dtype(real[name])
        formats[name] = (real[name].dtype, _decimals(real[name]) if numeric else -1)
    return formats


def restore_dtypes(synthetic: pd.DataFrame, formats: dict[str, ColumnFormat]) -> pd.DataFrame:
    """Give synthetic columns the real columns' order, dtypes and decimal precision."""
    synthetic = synthetic[list(formats)].copy()
    for name, (dtype, decimals) in formats.items():
        if decimals < 0:
            synthetic[name] = synthetic[name].astype("object")
            continue
        values = pd.to_numeric(synthetic[name], errors="coerce").astype("float64").round(decimals)
        if pd.api.types.is_integer_dtype(dtype):
            synthetic[name] = values.astype("Int64") if values.isna().any() else values.astype(dtype)
        else:
            synthetic[name] = values
    return synthetic


def _decimals(column: pd.Series, limit: int = 6) -> int:
    values = column.dropna().to_numpy(dtype="float64")[:5000]
    for places in range(limit + 1):
        if np.allclose(values, np.round(values, places), rtol=0, atol=1e-6 * 10**-places):
            return places
    return limit
