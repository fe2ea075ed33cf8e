"""The synthesiser contract every method follows, and the capabilities a method may declare.

The base contract (scikit-learn's estimator conventions): ``__init__`` only stores keyword
parameters; ``params_from(plan)`` builds those parameters from a trial's plan (the pipeline adds
``random_state`` from the trial's fit stream); ``fit(data, meta)`` validates them, learns from the
cleaned trial and returns ``self``; ``sample(n, rng)`` returns ``n`` synthetic rows with the
cleaned trial's columns and dtypes (missing values as missing); ``get_params()`` returns every
constructor parameter, so ``type(s)(**s.get_params())`` rebuilds the method and any run can be
reproduced; ``fitted_record()`` returns what fitting learnt that the catalogue records (public
things only: a bin scheme, a search summary). Fitted attributes end in ``_``.

Capabilities are further protocols; the pipeline asks which ones a method has, never its name:

- ``DifferentiallyPrivate``: ``epsilon``/``delta`` parameters, ``fit(..., noise=)`` drawing every
  privacy-relevant random choice from the given ``trialsynth.dp.noise.Noise`` (the pipeline
  passes ``SecureNoise``) over the public domain in ``meta.domain``, ``accounting()`` (the
  guarantee and how it is accounted, stored with the release) and ``privacy_spent()`` after fit.
  The pipeline reserves the budget in the epsilon ledger before it.
- ``StoresMeasurements`` (a ``DifferentiallyPrivate`` method whose rows reach it only through noisy
  measurements): ``measurement_version`` (bumped when what is measured changes),
  ``measurement_params()`` (the settings that decide the measurements), ``stored(key)`` (what the
  fit measured, ``trialsynth.dp.stored``) and ``fit_stored(stored, meta)`` (the same release
  estimated again from them: post-processing, nothing spent).
- ``FromReleasedOutputs``: ``fit_outputs(outputs)`` synthesises from released analytical outputs
  alone, and ``output_metrics(synthetic)`` measures the file against them.
- ``Tunable``: ``tune(plan, n_rows, n_cols, seed=, cache_dir=)`` chooses settings without reading
  private rows (or returns None when the plan fixes them).
- ``Redraws``: ``redraw(n, rng)`` draws rows to replace the ones the release gate flags (copies
  of a real unique record), drawn so that they seldom copy a real record (CART: smoothed
  donors). Without it the gate re-draws with ``sample``.

Adding a method: one module, one line in ``SYNTHESISERS`` (``synthesisers/__init__.py``) and its
tests; the contract tests run over every registered method and every capability it claims.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, Self, TypeGuard, runtime_checkable

import numpy as np
import pandas as pd

from trialsynth.domain import decimals_of
from trialsynth.dp.noise import Noise
from trialsynth.dp.stored import StoredMeasurements
from trialsynth.meta import TrialMeta

if TYPE_CHECKING:
    from trialsynth.outputs.released import ReleasedOutputs
    from trialsynth.plan import TrialPlan


class Estimator:
    """scikit-learn's convention for a method's settings: ``__init__`` stores each keyword
    parameter under its own name, and ``get_params`` reads them back from the constructor's
    signature (tuples as lists, as the catalogue stores them), so ``type(m)(**m.get_params())``
    rebuilds the method."""

    def get_params(self) -> dict[str, Any]:
        names = [
            name
            for name, parameter in inspect.signature(type(self).__init__).parameters.items()
            if name != "self" and parameter.kind is not inspect.Parameter.VAR_KEYWORD
        ]
        return {name: _as_recorded(getattr(self, name)) for name in names}


def _as_recorded(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_as_recorded(v) for v in value]
    if isinstance(value, dict):
        return {k: _as_recorded(v) for k, v in value.items()}
    return value


@runtime_checkable
class Synthesiser(Protocol):
    name: ClassVar[str]

    @classmethod
    def params_from(cls, plan: TrialPlan) -> dict[str, Any]: ...

    def fit(self, data: pd.DataFrame, meta: TrialMeta) -> Self: ...

    def sample(self, n: int, rng: np.random.Generator) -> pd.DataFrame: ...

    def get_params(self) -> dict[str, Any]: ...

    def fitted_record(self) -> dict[str, Any]: ...


@runtime_checkable
class DifferentiallyPrivate(Synthesiser, Protocol):
    epsilon: float
    delta: float

    def fit(self, data: pd.DataFrame, meta: TrialMeta, *, noise: Noise | None = None) -> Self: ...

    def accounting(self) -> str: ...

    def privacy_spent(self) -> dict[str, float]: ...


@runtime_checkable
class StoresMeasurements(DifferentiallyPrivate, Protocol):
    measurement_version: ClassVar[str]

    def measurement_params(self) -> dict[str, Any]: ...

    def stored(self, key: str) -> StoredMeasurements: ...

    def fit_stored(self, stored: StoredMeasurements, meta: TrialMeta) -> Self: ...


@runtime_checkable
class FromReleasedOutputs(Synthesiser, Protocol):
    def fit_outputs(self, outputs: ReleasedOutputs) -> Self: ...

    def output_metrics(self, synthetic: pd.DataFrame) -> dict[str, float | None]: ...


class Tuning(Protocol):
    """Settings a tunable method chose, and the record of how (stored under ``params.tuning``)."""

    @property
    def params(self) -> dict[str, Any]: ...

    def record(self) -> dict[str, Any]: ...


@runtime_checkable
class Tunable(Synthesiser, Protocol):
    @classmethod
    def tune(
        cls, plan: TrialPlan, n_rows: int, n_cols: int, *, seed: int, cache_dir: Path
    ) -> Tuning | None: ...


def is_tunable(method: type) -> TypeGuard[type[Tunable]]:
    """Whether a method class can tune its settings (asked before it is built)."""
    return callable(getattr(method, "tune", None))


@runtime_checkable
class Redraws(Synthesiser, Protocol):
    def redraw(self, n: int, rng: np.random.Generator) -> pd.DataFrame: ...


@dataclass(frozen=True)
class Rung:
    """One remedy of a method's ladder: the whole file drawn again with smoothed donors, the
    method refitted first with ``params`` changed from its own (none: the fitted model as is) -
    or, with ``method``, drawn by that differentially private method instead
    (``disclosure.private_remedy``)."""

    name: str
    params: dict[str, Any] = field(default_factory=dict)
    method: str | None = None


@runtime_checkable
class Remedies(Redraws, Protocol):
    """A method that declares, in order, the remedies a file over a risk limit gets."""

    def remedies(self) -> tuple[Rung, ...]: ...


@runtime_checkable
class ModelsSchools(Redraws, Protocol):
    """A method that synthesises a trial's schools itself (new schools, then their pupils)."""

    def models_schools(self) -> bool: ...

    def redraw_within(self, rows: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame: ...

    def schools_drawn(self) -> dict[str, Any]: ...


def models_schools(method: object) -> TypeGuard[ModelsSchools]:
    """Whether ``method`` (an instance) synthesises a trial's schools itself."""
    return isinstance(method, ModelsSchools) and method.models_schools()


@runtime_checkable
class ModelsUnits(ModelsSchools, Protocol):
    """A method that draws a long-format pupil's rows together: fitted with each row's pupil,
    it returns a file whose rows are grouped into new pupils (``drawn_units``)."""

    def fit(self, data: pd.DataFrame, meta: TrialMeta, units: np.ndarray | None = None) -> Self: ...

    def models_units(self) -> bool: ...

    def drawn_units(self) -> np.ndarray | None: ...


def models_units(method: object) -> TypeGuard[ModelsUnits]:
    """Whether ``method`` (an instance) draws a long-format pupil's rows together."""
    return isinstance(method, ModelsUnits) and method.models_units()


CAPABILITIES: dict[str, type] = {
    "differentially_private": DifferentiallyPrivate,
    "from_released_outputs": FromReleasedOutputs,
    "tunable": Tunable,
    "redraws": Redraws,
    "models_schools": ModelsSchools,
    "models_units": ModelsUnits,
}


def capabilities_of(method: type | object) -> tuple[str, ...]:
    """The names of the capabilities a method (class or instance) has."""
    probe = method if not isinstance(method, type) else _probe(method)
    return tuple(name for name, protocol in CAPABILITIES.items() if isinstance(probe, protocol))


def _probe(cls: type) -> object:
    return cls()


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
        formats[name] = (real[name].dtype, decimals_of(real[name]) if numeric else -1)
    return formats


def school_formats(formats: dict[str, ColumnFormat], cluster: str | None) -> dict[str, ColumnFormat]:
    """``formats`` with the school column's set for its release labels: whole numbers where the
    real ids are numeric, text otherwise (``clusters.label_mapping``)."""
    if not cluster or cluster not in formats:
        return formats
    dtype = formats[cluster][0]
    numeric = pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
    return {**formats, cluster: (dtype, 0 if numeric else -1)}


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
