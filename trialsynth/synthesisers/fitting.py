"""Synthesis for one trial: settings tuned from public inputs, the method built from the plan,
fitted (from the cleaned rows, or from released outputs), and sampled.

A private fit's noise comes from ``SecureNoise``, never from the trial's streams; its budget is
reserved before the fit (``catalogue.ledger.charge``), so ``reads_privately`` tells the caller
when to charge.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from trialsynth.dp.noise import SecureNoise
from trialsynth.dp.stored import StoredMeasurements
from trialsynth.errors import MethodNotAvailableError
from trialsynth.meta import TrialMeta
from trialsynth.outputs.supplied import Released
from trialsynth.plan import RunContext, TrialPlan
from trialsynth.streams import Streams
from trialsynth.synthesisers.base import (
    DifferentiallyPrivate,
    FromReleasedOutputs,
    StoresMeasurements,
    Synthesiser,
    Tunable,
    Tuning,
    models_units,
)


@dataclass(frozen=True)
class Tuned:
    """Settings a tunable method chose without reading private rows (None: nothing tuned)."""

    tuning: Tuning | None

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.tuning.params) if self.tuning else {}

    def record(self) -> dict[str, Any]:
        return {"params": {"tuning": self.tuning.record()}} if self.tuning else {}


@dataclass(frozen=True)
class Settled:
    """Settings a comparison gives a candidate (``plan.Comparison.settings``), in place of tuning."""

    settings: dict[str, Any]
    source: Tuned
    tuning: dict[str, Any] | None = None

    @property
    def params(self) -> dict[str, Any]:
        return {**self.source.params, **self.settings}

    def record(self) -> dict[str, Any]:
        return {"params": {"tuning": self.tuning}} if self.tuning else self.source.record()


def tune(
    method: type[Tunable], plan: TrialPlan, fitted_rows: int, n_cols: int, seed: int, context: RunContext
) -> Tuned:
    """Settings a tunable method chooses from public inputs only (the shape it is fitted on, the plan)."""
    return Tuned(method.tune(plan, fitted_rows, n_cols, seed=seed, cache_dir=context.cache_dir))


def with_settings(tuned: Tuned, context: RunContext) -> Tuned | Settled:
    """``tuned``, with a comparison's settings for the candidate over it."""
    comparison = context.comparison
    if comparison is None or not (comparison.settings or comparison.tuning):
        return tuned
    return Settled(dict(comparison.settings), tuned, comparison.tuning)


def build(
    method: type[Synthesiser], plan: TrialPlan, settings: Tuned | Settled, streams: Streams
) -> Synthesiser:
    """The method as the plan sets it, with tuned settings and the fit stream's seed."""
    return method(**{**method.params_from(plan), **settings.params, "random_state": streams.seed_of("fit")})


def reads_privately(synthesiser: Synthesiser, released: Released | None) -> DifferentiallyPrivate | None:
    """The synthesiser, when its fit reads the trial's rows under a DP guarantee (so its budget
    is owed); None when it is not private or synthesises from the released outputs."""
    if released is not None and isinstance(synthesiser, FromReleasedOutputs):
        return None
    return synthesiser if isinstance(synthesiser, DifferentiallyPrivate) else None


@dataclass(frozen=True)
class Fitted:
    """A fitted method and what it records."""

    synthesiser: Synthesiser
    params: dict[str, Any]
    epsilon: float | None = None
    released_rows: int | None = None  # fitted from released outputs: the rows they describe

    def record(self) -> dict[str, Any]:
        return {"params": self.params, "epsilon": self.epsilon}


def fit(
    synthesiser: Synthesiser,
    training: tuple[pd.DataFrame, TrialMeta] | None,
    released: Released | None,
    units: np.ndarray | None = None,
) -> Fitted:
    """Fit from released outputs when supplied and the method can, else from the ``training``
    rows and their metadata; a private fit draws its noise from ``SecureNoise``. ``units``: a
    long-format file's pupil id per training row, for a method that draws a pupil's rows
    together (``models_units``)."""
    private = reads_privately(synthesiser, released)
    released_rows = None
    if released is not None and isinstance(synthesiser, FromReleasedOutputs):
        synthesiser.fit_outputs(released.outputs)
        released_rows = released.outputs.n_rows
    elif training is None:
        raise MethodNotAvailableError(
            f"method {synthesiser.name!r} cannot synthesise from released outputs alone"
        )
    elif private is not None:
        private.fit(training[0], training[1], noise=SecureNoise())
    elif units is not None and models_units(synthesiser):
        synthesiser.fit(training[0], training[1], units=units)
    else:
        synthesiser.fit(training[0], training[1])
    record = {**synthesiser.get_params(), **synthesiser.fitted_record()}
    if private is None:
        return Fitted(synthesiser, record, released_rows=released_rows)
    record["accounting"] = private.accounting()
    return Fitted(synthesiser, record, epsilon=private.privacy_spent()["epsilon"])


def fit_stored(synthesiser: StoresMeasurements, stored: StoredMeasurements, meta: TrialMeta) -> Fitted:
    """The release estimated again from its stored measurements (post-processing: no row is read,
    nothing is spent); its guarantee is the stored measurements'."""
    synthesiser.fit_stored(stored, meta)
    record = {**synthesiser.get_params(), **synthesiser.fitted_record()}
    record["accounting"] = synthesiser.accounting()
    return Fitted(synthesiser, record, epsilon=synthesiser.privacy_spent()["epsilon"])


@dataclass(frozen=True)
class Sampled:
    """A synthetic file drawn from the fitted method (never recorded)."""

    synthetic: pd.DataFrame = field(repr=False)

    def record(self) -> dict[str, Any]:
        return {}


def sample(fitted: Fitted, n_rows: int, streams: Streams) -> Sampled:
    """``n_rows`` rows (as many as the real data has), or as many as the released outputs
    describe when the method synthesised from them, from the trial's sampling stream."""
    n = fitted.released_rows if fitted.released_rows is not None else n_rows
    return Sampled(fitted.synthesiser.sample(n, streams.generator("sample")))


def output_metrics(fitted: Fitted, synthetic: pd.DataFrame) -> dict[str, float | None]:
    """What a method that synthesises from released outputs measures against them."""
    if isinstance(fitted.synthesiser, FromReleasedOutputs):
        return fitted.synthesiser.output_metrics(synthetic)
    return {}
