"""synthcity's generators, run in the comparator environment (``trialsynth.comparators``).

- ``gan``: synthcity's DP-GAN (``dpgan``; the study's GAN), the discriminator trained with
  DP-SGD (opacus) to a target epsilon.
- ``pategan``: PATE-GAN (teachers on disjoint parts, a student trained through noisy votes).
- ``ctgan``: CTGAN (conditional GAN with mode-specific normalisation), no privacy mechanism.

synthcity's own AIM is not offered: run through the same contract tests, two draws with one seed
gave different rows, and each draw of 200-3,000 rows took 90-290 s on 2 cores (under load).

What the worker gets is numbers only: text categories (missing as a category of its own) become
codes, a school column (already replaced by its school group where the school control applies)
becomes pseudonymous codes, and each numeric column with missing values gets a 0/1
``<name>__missing`` indicator beside it (Appendix A's route). None of these generators takes
missing values, so before fitting the worker fills them with ``hyperimpute`` (``impute``; what was
imputed - columns, cells, seconds - is in ``fitted_record()``); after sampling, values whose
indicator says missing are blanked again. Codes drawn by a generator that treats them as numbers
are rounded to the nearest level.

**Privacy.** DP-GAN, PATE-GAN and synthcity's AIM account a privacy loss for their training, and
that accounting (target epsilon, delta, accountant) is recorded as ``nominal_dp``. It is *not* a
guarantee for the file: synthcity fits its data encoder on the real rows without noise (each
category's levels, each continuous column's range and Gaussian-mixture modes), so the release is
not differentially private end to end. These methods therefore do not claim the
``DifferentiallyPrivate`` capability: the pipeline treats them like CART - school control, the
release gate, the attack-based risk checks - and charges nothing to the epsilon ledger. Their
training randomness comes from a seed (``random_state``) like every non-private method; DP-GAN's
patience checks (which score a held-out part of the real rows every ``n_iter_print`` epochs and
keep the best epoch) are switched off, so the real rows reach the model only through training.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Self

import numpy as np
import pandas as pd

from trialsynth.comparators.client import Limits, run_job
from trialsynth.comparators.environment import location, status
from trialsynth.errors import MethodNotAvailableError
from trialsynth.meta import TrialMeta
from trialsynth.missing import (
    MISSING_SUFFIX,
    add_missing_indicators,
    apply_missing_indicators,
    decode_missing_categories,
    encode_missing_categories,
)
from trialsynth.plan import TrialPlan
from trialsynth.synthesisers.base import (
    Estimator,
    check_choice,
    column_formats,
    restore_dtypes,
    school_formats,
)
from trialsynth.synthesisers.clusters import label_mapping, pseudonymise

IMPUTERS = ("hyperimpute",)
FEW_VALUES = 15  # synthcity label-encodes a numeric column with fewer distinct values


class SynthcitySynthesiser(Estimator):
    """A synthcity generator behind the synthesiser contract.

    Parameters
    ----------
    settings : dict, optional
        The generator's own parameters (synthcity's names), over ``DEFAULTS``.
    epsilon, delta : float, optional
        The training's target privacy loss (DP generators only; default epsilon 1, delta 1/n for
        the GANs, synthcity's 1e-9 for AIM). Recorded as nominal: see the module's note.
    impute : {"hyperimpute"}
        How missing values are filled before fitting (the generators take none).
    time_limit_s, memory_mb : limits on each job in the comparator environment.
    threads : torch's threads in the worker (default: torch's choice).
    random_state : int
        Seed of the generator's training and of the codes' pseudonyms.
    """

    name: ClassVar[str] = ""
    plugin: ClassVar[str] = ""
    private: ClassVar[bool] = False  # accounts a privacy loss for its training
    DEFAULTS: ClassVar[dict[str, Any]] = {}

    def __init__(
        self,
        *,
        settings: dict[str, Any] | None = None,
        epsilon: float | None = None,
        delta: float | None = None,
        impute: str = "hyperimpute",
        time_limit_s: float = 3600.0,
        memory_mb: int = 8192,
        threads: int | None = None,
        random_state: int = 0,
    ) -> None:
        self.settings = settings
        self.epsilon = epsilon
        self.delta = delta
        self.impute = impute
        self.time_limit_s = time_limit_s
        self.memory_mb = memory_mb
        self.threads = threads
        self.random_state = random_state

    @classmethod
    def params_from(cls, plan: TrialPlan) -> dict[str, Any]:
        """The trial's epsilon (DP generators) and, where the plan sets one, its time limit."""
        params: dict[str, Any] = {}
        if cls.private and plan.epsilon is not None:
            params["epsilon"] = plan.epsilon
        if plan.limits.time_s:
            params["time_limit_s"] = float(plan.limits.time_s)
        return params

    def plugin_params(self) -> dict[str, Any]:
        params = {**self.DEFAULTS, **(self.settings or {})}
        if self.private:
            params["epsilon"] = 1.0 if self.epsilon is None else float(self.epsilon)
            if self.delta is not None:
                params["delta"] = float(self.delta)
        return params

    def fitted_record(self) -> dict[str, Any]:
        if not hasattr(self, "job_"):
            return {}
        record = {
            "generator": f"synthcity {self.plugin}",
            "settings": self.plugin_params(),
            "imputation": self.job_.get("imputation"),
            "environment": self.job_.get("versions"),
            "worker_seconds": {"fit": self.job_.get("fit_s"), "job": self.job_.get("seconds")},
            "peak_mb": self.peak_mb_,
        }
        if self.private:
            record["nominal_dp"] = {
                **self.job_.get("dp", {}),
                "covers": "the generator's training at most; the encoder is fitted on real rows without "
                "noise and the training noise comes from torch's seeded generator (random_state), so "
                "the file carries no DP guarantee and the ledger is not charged",
            }
        return record

    def _limits(self) -> Limits:
        return Limits(time_s=self.time_limit_s, memory_mb=self.memory_mb, threads=self.threads)

    def fit(self, data: pd.DataFrame, meta: TrialMeta) -> Self:
        check_choice(type(self).__name__, "impute", self.impute, IMPUTERS)
        env = status(location())
        if not env.ready:
            raise MethodNotAvailableError(
                f"method {self.name!r} needs the comparator environment; {env.reason}"
            )
        rng = np.random.default_rng(self.random_state)
        self.formats_ = column_formats(data)
        self.meta_ = meta
        prepared = data.copy()
        if meta.cluster:
            numeric = pd.api.types.is_numeric_dtype(data[meta.cluster])
            prepared[meta.cluster] = pseudonymise(prepared[meta.cluster], rng)
            self.school_labels_ = label_mapping(prepared[meta.cluster], rng, numeric=numeric)
        # coded as 0..k-1: categories, and numbers with few distinct values, which synthcity
        # would otherwise label-encode itself and fail to decode when a draw leaves their range
        text = [
            c
            for c in meta.columns
            if c == meta.cluster
            or meta.kinds[c] == "categorical"
            or not pd.api.types.is_numeric_dtype(data[c])
            or data[c].nunique() < FEW_VALUES
        ]
        self.labels_ = {c: prepared[c].dropna().unique() for c in text}
        prepared = encode_missing_categories(prepared, self.labels_)
        self.codebook_: dict[str, np.ndarray] = {}
        for name in text:
            codes, uniques = pd.factorize(prepared[name], sort=True)
            self.codebook_[name] = np.asarray(uniques, dtype=object)
            prepared[name] = codes.astype(np.int64)
        numeric_columns = [c for c in prepared.columns if c not in self.codebook_]
        prepared = add_missing_indicators(prepared, numeric_columns)
        for name in numeric_columns:
            prepared[name] = pd.to_numeric(prepared[name], errors="coerce").astype("float64")
        self.columns_ = list(prepared.columns)
        job: dict[str, Any] = {"task": "fit", "plugin": self.plugin, "params": self.plugin_params()}
        indicators = [c for c in prepared.columns if c.endswith(MISSING_SUFFIX)]
        job.update(seed=self.random_state, impute=self.impute, discrete=[*self.codebook_, *indicators])
        done = run_job(
            env.path, job, frames={"train": prepared}, read_blobs=("model.bin",), limits=self._limits()
        )
        self.model_ = done.blobs["model.bin"]  # a model of the rows: kept in memory, never written
        self.job_ = done.result
        self.peak_mb_ = done.peak_mb
        return self

    def sample(self, n: int, rng: np.random.Generator) -> pd.DataFrame:
        if not hasattr(self, "model_"):
            raise RuntimeError(f"{type(self).__name__} is not fitted yet: call fit(data, meta) first.")
        if n < 1:
            raise ValueError(f"The 'n' parameter of {type(self).__name__}.sample must be >= 1. Got {n!r}.")
        seed = int(rng.integers(0, 2**31 - 1))
        done = run_job(
            status(location()).path,
            {"task": "sample", "n": n, "seed": seed},
            blobs={"model.bin": self.model_},
            read_frames=("synthetic",),
            limits=self._limits(),
        )
        return self._decode(done.frames["synthetic"], n)

    def _decode(self, synthetic: pd.DataFrame, n: int) -> pd.DataFrame:
        missing = [c for c in self.columns_ if c not in synthetic.columns]
        if missing or len(synthetic) != n:
            got = len(synthetic)
            raise RuntimeError(f"the generator returned {got} rows of {n}, lacking columns {missing}")
        frame = synthetic[self.columns_].reset_index(drop=True).copy()
        for name in [c for c in frame.columns if c.endswith(MISSING_SUFFIX)]:
            frame[name] = (pd.to_numeric(frame[name], errors="coerce").fillna(0) >= 0.5).astype(int)
        frame = apply_missing_indicators(frame)
        for name, uniques in self.codebook_.items():
            codes = pd.to_numeric(frame[name], errors="coerce")
            if codes.isna().any():  # the generator draws every code (missing is a level of its own)
                raise RuntimeError(
                    f"the generator drew no value for {int(codes.isna().sum())} rows of {name!r}"
                )
            codes = codes.round().clip(0, len(uniques) - 1)
            frame[name] = uniques[codes.astype(np.intp).to_numpy()]
        cluster = self.meta_.cluster
        if cluster:
            cluster_labels = frame[cluster].astype("object")
        labels = {c: v for c, v in self.labels_.items() if c != cluster}
        frame = decode_missing_categories(frame, labels)
        if cluster:
            frame[cluster] = cluster_labels.map(self.school_labels_)
        return restore_dtypes(frame, school_formats(self.formats_, cluster)).reset_index(drop=True)


SMALL_NETWORK = {"generator_n_units_hidden": 128, "discriminator_n_units_hidden": 128}


class GanSynthesiser(SynthcitySynthesiser):
    """synthcity's DP-GAN (the study's GAN). Defaults sized for a CPU: 30 epochs of batches of 500
    through two hidden layers of 128 units, learning rate 2e-4 (a DP-SGD step costs about a
    second on 2 cores: 100 epochs took 8 minutes on 1,200 rows). synthcity's own (2,000 epochs of
    200 through 500 units) cost 26 s an epoch on 9,900 rows here: about 14 hours a fit."""

    name = "gan"
    plugin = "dpgan"
    private = True
    DEFAULTS = {"n_iter": 30, "batch_size": 500, "lr": 2e-4, "n_iter_print": 10**9, **SMALL_NETWORK}


class PateGanSynthesiser(SynthcitySynthesiser):
    """synthcity's PATE-GAN (10 XGBoost teachers), 30 rounds of batches of 500, 128-unit layers."""

    name = "pategan"
    plugin = "pategan"
    private = True
    DEFAULTS = {"n_iter": 30, "batch_size": 500, **SMALL_NETWORK}


class CtganSynthesiser(SynthcitySynthesiser):
    """synthcity's CTGAN (no privacy mechanism): 30 epochs of batches of 500, 128-unit layers."""

    name = "ctgan"
    plugin = "ctgan"
    DEFAULTS = {"n_iter": 30, "batch_size": 500, "n_iter_print": 10**9, **SMALL_NETWORK}


if TYPE_CHECKING:  # mypy checks the class against the contract
    from trialsynth.synthesisers.base import Synthesiser

    _synthesiser: type[Synthesiser] = GanSynthesiser
