"""Sequential CART (synthpop-py): each column drawn from a tree fitted on the columns before it."""

from __future__ import annotations

import logging
import threading
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Self

import numpy as np
import pandas as pd
from sklearn.exceptions import ConvergenceWarning
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer

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
from trialsynth.synthesisers.cart_trees import MIN_LEAF, SequentialCart
from trialsynth.synthesisers.clusters import label_mapping, pseudonymise

log = logging.getLogger(__name__)
# synthpop-py keeps its random state in class-level globals (RandomStateManager): two fits or
# generations interleaved in threads would draw from each other's streams. Serialise them so a
# seed gives the same file whatever the number of worker threads.
_SYNTHPOP_LOCK = threading.Lock()
MISSING_MODES = ("native", "indicator", "hyperimpute")
ENGINES = ("trees", "synthpop")
SMOOTHING = ("none", "density")
SMOOTH_MIN_LEVELS = 20  # continuous columns with fewer distinct values (counts, scales) keep donors
SMOOTH_SHARED_SHARE = 0.01  # a value at least this share of real rows (and 10) hold is drawn as it is


class CartSynthesiser(Estimator):
    """Conditional (sequential) CART, minimum leaf size 5 as in R synthpop.

    Parameters
    ----------
    engine : {"trees", "synthpop"}
        ``trees``: the vectorised engine in ``cart_trees.py`` (default; same method, measured
        ~3x faster with matching fidelity - see ``bench/cart_engines.py``). ``synthpop``:
        ``synthpop.Synthesiser`` from synthpop-py.
    missing : {"native", "indicator", "hyperimpute"}
        ``native``: numeric NA modelled by the engine (a tree draws "missing or not", then a value).
        ``indicator``: Appendix A's route - a 0/1 indicator per numeric column with NA is
        synthesised, values are imputed (``IterativeImputer``) for fitting and blanked afterwards.
        ``hyperimpute``: the same route with the study's imputer, hyperimpute, run in the
        comparator environment (``trialsynth.comparators``); the archive's ``missing_values``.
    column_order : list of str, optional
        Visiting order. Default: cluster, treatment, then the data's own order.
    smoothing : {"none", "density"}
        ``none`` (default, R synthpop's default): donors copied as they are. ``density`` (R
        synthpop's ``smoothing = "density"``): a drawn value of a continuous column
        (``SMOOTH_MIN_LEVELS`` distinct values or more) moves by Gaussian noise of the column's
        kernel bandwidth (Silverman's rule), reflected into the column's real range, rounded to
        its decimals, so a leaf's donors are not copied exactly; values that at least
        ``SMOOTH_SHARED_SHARE`` of the real rows (and at least 10) share - zero spending, a
        ceiling score - are kept as drawn: they identify no one, and smoothing would erase point
        masses.
        Whatever this setting, ``redraw`` - the rows the release gate re-draws in place of
        copies of real unique records - smooths: measured in ``bench/gate_remedies.py``,
        smoothing every row costs fidelity on files that copy nothing, while re-drawing without
        it removes every row near a unique record and distorts the file.
    min_leaf : int
        Fewest real rows in a leaf (R synthpop's ``minbucket``, 5); the ``trees`` engine only
        (``synthpop`` keeps its own 5). Larger leaves pool more donors per draw.
    random_state : int
        Seed for fitting (tree tie-breaks, pseudonymisation of clusters).

    Binary numeric columns stay numeric (a regression tree on 0/1 splits like a Gini tree and
    donors keep values 0/1); text categories, with NA as a category of its own, use classifiers.
    """

    name: ClassVar[str] = "cart"

    def __init__(
        self,
        *,
        engine: str = "trees",
        missing: str = "native",
        column_order: list[str] | None = None,
        smoothing: str = "none",
        min_leaf: int = MIN_LEAF,
        random_state: int = 0,
    ) -> None:
        self.engine = engine
        self.min_leaf = min_leaf
        self.missing = missing
        self.column_order = column_order
        self.smoothing = smoothing
        self.random_state = random_state

    @classmethod
    def params_from(cls, plan: TrialPlan) -> dict[str, Any]:
        """The archive's missing-value strategy (``defaults.missing_values``)."""
        return {"missing": plan.policy.missing_values}

    def fitted_record(self) -> dict[str, Any]:
        return {"imputation": self.imputation_} if getattr(self, "imputation_", None) else {}

    def _order(self, columns: list[str], meta: TrialMeta) -> list[str]:
        if self.column_order is not None:
            # the missing-value indicators CART adds follow their column unless the order names them
            order = list(self.column_order)
            for name in [c for c in columns if c.endswith(MISSING_SUFFIX) and c not in order]:
                base = name[: -len(MISSING_SUFFIX)]
                order.insert(order.index(base) + 1 if base in order else len(order), name)
            unknown = sorted(set(order) - set(columns))
            if unknown or len(order) != len(columns) or len(set(order)) != len(order):
                raise ValueError(
                    f"The 'column_order' parameter of CartSynthesiser must list every column once; "
                    f"unknown {unknown}, expected {len(columns)} names. Got {self.column_order!r}."
                )
            return order
        first = [c for c in (meta.cluster, meta.treatment) if c in columns]
        return first + [c for c in columns if c not in first]

    def _text_columns(self, data: pd.DataFrame, meta: TrialMeta) -> list[str]:
        return [
            c
            for c in meta.columns
            if meta.kinds[c] == "categorical" or not pd.api.types.is_numeric_dtype(data[c])
        ]

    def fit(self, data: pd.DataFrame, meta: TrialMeta) -> Self:
        check_choice("CartSynthesiser", "engine", self.engine, ENGINES)
        check_choice("CartSynthesiser", "missing", self.missing, MISSING_MODES)
        check_choice("CartSynthesiser", "smoothing", self.smoothing, SMOOTHING)
        if self.min_leaf < 1 or (self.engine == "synthpop" and self.min_leaf != MIN_LEAF):
            raise ValueError(
                f"The 'min_leaf' parameter of CartSynthesiser must be >= 1 (and {MIN_LEAF} with the "
                f"synthpop engine). Got {self.min_leaf!r} with engine {self.engine!r}."
            )
        rng = np.random.default_rng(self.random_state)
        self.formats_ = column_formats(data)
        self.smoothing_ = _bandwidths(data, meta)
        self.labels_ = {c: data[c].dropna().unique() for c in self._text_columns(data, meta)}
        prepared = data.copy()
        if meta.cluster:
            numeric = pd.api.types.is_numeric_dtype(data[meta.cluster])
            prepared[meta.cluster] = pseudonymise(prepared[meta.cluster], rng)
            self.school_labels_ = label_mapping(prepared[meta.cluster], rng, numeric=numeric)
        prepared = encode_missing_categories(prepared, self.labels_)
        if self.missing in ("indicator", "hyperimpute"):
            prepared = self._impute_with_indicators(prepared, meta)
        self.column_order_ = self._order(list(prepared.columns), meta)
        self.meta_ = meta
        if self.engine == "trees":
            self._fit_trees(prepared[self.column_order_])
            return self
        from synthpop import Synthesiser as SynthpopSynthesiser  # only this engine pays its import

        with _SYNTHPOP_LOCK, warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=UserWarning, module="synthpop")
            self.model_ = SynthpopSynthesiser(
                random_seed=self.random_state, column_order=self.column_order_
            ).fit(prepared)
        return self

    def _fit_trees(self, prepared: pd.DataFrame) -> None:
        self.codebook_: dict[str, np.ndarray] = {}
        columns = []
        for name in prepared.columns:
            if name in self.labels_:
                codes, uniques = pd.factorize(prepared[name], sort=True)
                self.codebook_[name] = np.asarray(uniques, dtype=object)
                columns.append(codes.astype(np.float64))
            else:
                columns.append(prepared[name].to_numpy(dtype=np.float64, na_value=np.nan))
        categorical = [name in self.codebook_ for name in prepared.columns]
        levels = [len(self.codebook_[n]) if n in self.codebook_ else 0 for n in prepared.columns]
        self.model_ = SequentialCart(min_leaf=self.min_leaf, random_state=self.random_state).fit(
            np.column_stack(columns), categorical, levels
        )

    def _sample_trees(self, n: int, rng: np.random.Generator) -> pd.DataFrame:
        matrix = self.model_.sample(n, rng)
        frame = pd.DataFrame(matrix, columns=self.column_order_)
        for name, uniques in self.codebook_.items():
            frame[name] = uniques[matrix[:, self.column_order_.index(name)].astype(np.intp)]
        return frame

    def _impute_with_indicators(self, prepared: pd.DataFrame, meta: TrialMeta) -> pd.DataFrame:
        numeric = [c for c in meta.columns if c not in self.labels_]
        with_na = [c for c in numeric if prepared[c].isna().any()]
        prepared = add_missing_indicators(prepared, with_na)
        if with_na and self.missing == "hyperimpute":
            from trialsynth.comparators.imputation import impute

            prepared[numeric], self.imputation_ = impute(prepared[numeric], seed=self.random_state)
        elif with_na:
            imputer = IterativeImputer(max_iter=5, random_state=self.random_state)
            with warnings.catch_warnings():  # 5 rounds are enough to keep relationships
                warnings.filterwarnings("ignore", category=ConvergenceWarning)
                prepared[numeric] = imputer.fit_transform(prepared[numeric])
        return prepared

    def sample(self, n: int, rng: np.random.Generator) -> pd.DataFrame:
        return self._draw(n, rng, smooth=self.smoothing == "density")

    def redraw(self, n: int, rng: np.random.Generator) -> pd.DataFrame:
        """Rows to replace the release gate's flagged ones: donors always smoothed."""
        return self._draw(n, rng, smooth=True)

    def _draw(self, n: int, rng: np.random.Generator, *, smooth: bool) -> pd.DataFrame:
        if not hasattr(self, "model_"):
            raise RuntimeError("CartSynthesiser is not fitted yet: call fit(data, meta) first.")
        if n < 1:
            raise ValueError(f"The 'n' parameter of CartSynthesiser.sample must be >= 1. Got {n!r}.")
        if self.engine == "trees":
            synthetic = self._sample_trees(n, rng)
        else:
            seed = int(rng.integers(0, 2**31 - 1))
            with _SYNTHPOP_LOCK, warnings.catch_warnings():
                warnings.filterwarnings("ignore", category=UserWarning, module="synthpop")
                synthetic = self.model_.generate(n=n, random_seed=seed)
        synthetic = apply_missing_indicators(synthetic)
        if smooth:
            synthetic = _smooth(synthetic, self.smoothing_, rng)
        cluster = self.meta_.cluster
        if cluster:
            cluster_labels = synthetic[cluster].astype("object")
        labels = {c: v for c, v in self.labels_.items() if c != cluster}
        synthetic = decode_missing_categories(synthetic, labels)
        if cluster:
            synthetic[cluster] = cluster_labels.map(self.school_labels_)
        return restore_dtypes(synthetic, school_formats(self.formats_, cluster)).reset_index(drop=True)


if TYPE_CHECKING:  # mypy checks the class against every capability it claims
    from trialsynth.synthesisers.base import Redraws, Synthesiser

    _synthesiser: type[Synthesiser] = CartSynthesiser
    _redraws: type[Redraws] = CartSynthesiser


@dataclass(frozen=True)
class Smoothing:
    """How one continuous column's drawn values are smoothed: the kernel bandwidth, the real
    range they stay within, and the values shared by many rows (point masses such as zero
    spending), which are kept: copying them discloses no one, and smoothing would erase them."""

    bandwidth: float
    low: float
    high: float
    shared: np.ndarray


def _bandwidths(data: pd.DataFrame, meta: TrialMeta) -> dict[str, Smoothing]:
    """The ``Smoothing`` of each continuous column worth smoothing: Silverman's rule of thumb,
    0.9 min(sd, IQR / 1.34) n^(-1/5), over the values not shared by ``SMOOTH_SHARED_SHARE`` of rows."""
    out = {}
    for name in meta.of_kind("continuous"):
        values = data[name].to_numpy(dtype=float, na_value=np.nan)
        values = values[~np.isnan(values)]
        levels, counts = np.unique(values, return_counts=True)
        if len(levels) < SMOOTH_MIN_LEVELS:
            continue
        shared = levels[counts >= max(SMOOTH_SHARED_SHARE * len(values), 10)]
        spread_of = values[~np.isin(values, shared)]
        if len(spread_of) < 2:
            continue
        q1, q3 = np.quantile(spread_of, [0.25, 0.75])
        sd = float(spread_of.std(ddof=1))
        spread = min(sd, float(q3 - q1) / 1.34) or sd
        bandwidth = 0.9 * spread * len(spread_of) ** -0.2
        out[name] = Smoothing(bandwidth, float(values.min()), float(values.max()), shared)
    return out


def _reflected(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """Values pushed past the real range folded back inside it (a clip would pile them up on the
    real extremes, and reproduce an extreme real value exactly)."""
    values = np.where(values < low, 2 * low - values, values)
    values = np.where(values > high, 2 * high - values, values)
    return np.clip(values, low, high)


def _smooth(
    synthetic: pd.DataFrame, smoothing: dict[str, Smoothing], rng: np.random.Generator
) -> pd.DataFrame:
    for name, how in smoothing.items():
        values = pd.to_numeric(synthetic[name], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        noise = rng.normal(0.0, how.bandwidth, len(values))
        keep = np.isnan(values) | np.isin(values, how.shared)
        synthetic[name] = np.where(keep, values, _reflected(values + noise, how.low, how.high))
    return synthetic
