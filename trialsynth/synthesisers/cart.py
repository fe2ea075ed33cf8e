"""Sequential CART (synthpop-py): each column drawn from a tree fitted on the columns before it."""

from __future__ import annotations

import logging
import threading
import warnings
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
    Rung,
    check_choice,
    column_formats,
    restore_dtypes,
    school_formats,
)
from trialsynth.synthesisers.cart_schools import LABEL, DesignCart
from trialsynth.synthesisers.cart_smoothing import bandwidths
from trialsynth.synthesisers.cart_smoothing import smooth as smooth_values
from trialsynth.synthesisers.cart_trees import MIN_LEAF
from trialsynth.synthesisers.cart_units import UnitCart
from trialsynth.synthesisers.clusters import label_mapping, pseudonymise

log = logging.getLogger(__name__)
# synthpop-py keeps its random state in class-level globals (RandomStateManager): two fits or
# generations interleaved in threads would draw from each other's streams. Serialise them so a
# seed gives the same file whatever the number of worker threads.
_SYNTHPOP_LOCK = threading.Lock()
MISSING_MODES = ("native", "indicator", "hyperimpute")
ENGINES = ("trees", "synthpop")
SMOOTHING = ("none", "density")
LADDER_LEAVES = (20, 80)  # the minimum leaf sizes the remedies refit with, in order


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
        (``cart_smoothing.SMOOTH_MIN_LEVELS`` distinct values or more) moves by Gaussian noise of the column's
        kernel bandwidth (Silverman's rule), reflected into the column's real range, rounded to
        its decimals, so a leaf's donors are not copied exactly; values that at least
        ``cart_smoothing.SMOOTH_SHARED_SHARE`` of the real rows (and at least 10) share - zero spending, a
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

    A trial with schools is synthesised in two levels by the ``trees`` engine - new schools,
    then their pupils (``cart_schools``): no real school id reaches the trees. The ``synthpop``
    engine fits the rows it is given (the pipeline's school-group control, ``models_schools``).

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
        out: dict[str, Any] = {}
        if getattr(self, "imputation_", None):
            out["imputation"] = self.imputation_
        if hasattr(self, "design_"):
            out["design"] = self.design_.record()
        return out

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

    def fit(self, data: pd.DataFrame, meta: TrialMeta, units: np.ndarray | None = None) -> Self:
        """``units``: a long-format file's pupil id per row; the ``trees`` engine then draws a
        pupil's rows together (``cart_units``)."""
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
        self.smoothing_ = bandwidths(data, meta.of_kind("continuous"))
        self.labels_ = {c: data[c].dropna().unique() for c in self._text_columns(data, meta)}
        self.meta_ = meta
        prepared = data.copy()
        designed = self.models_schools()
        if meta.cluster and not designed:
            numeric = pd.api.types.is_numeric_dtype(data[meta.cluster])
            prepared[meta.cluster] = pseudonymise(prepared[meta.cluster], rng)
            self.school_labels_ = label_mapping(prepared[meta.cluster], rng, numeric=numeric)
        prepared = encode_missing_categories(prepared, self.labels_)
        if self.missing in ("indicator", "hyperimpute"):
            prepared = self._impute_with_indicators(prepared, meta)
        self.column_order_ = self._order(list(prepared.columns), meta)
        if designed:
            numeric = bool(meta.cluster) and pd.api.types.is_numeric_dtype(data[meta.cluster])
            args = (prepared, meta, set(self.labels_), self.column_order_)
            self.design_: DesignCart | UnitCart
            if units is not None:
                self.design_ = UnitCart(self.min_leaf, self.random_state, bool(numeric)).fit(*args, units)
            else:
                self.design_ = DesignCart(self.min_leaf, self.random_state, bool(numeric)).fit(*args)
            return self
        from synthpop import Synthesiser as SynthpopSynthesiser  # only this engine pays its import

        with _SYNTHPOP_LOCK, warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=UserWarning, module="synthpop")
            self.model_ = SynthpopSynthesiser(
                random_seed=self.random_state, column_order=self.column_order_
            ).fit(prepared)
        return self

    def remedies(self) -> tuple[Rung, ...]:
        """The ladder a file over a risk limit climbs (``disclosure.risk``): donors smoothed, then
        leaves of ``LADDER_LEAVES`` real rows (each coarser than the last), smoothed."""
        coarser = [leaf for leaf in LADDER_LEAVES if leaf > self.min_leaf and self.engine == "trees"]
        return (
            Rung("smoothed donors"),
            *(Rung(f"leaves of {leaf} rows, smoothed donors", {"min_leaf": leaf}) for leaf in coarser),
        )

    def models_schools(self) -> bool:
        """Whether a trial's schools are synthesised by the method itself, in two levels (the
        ``trees`` engine); else the pipeline groups schools before the fit."""
        return self.engine == "trees"

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

    def redraw_within(self, rows: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
        """New pupils for ``rows`` of the file last drawn, donors smoothed, each in its row's
        school (and, where pupils were randomised, its row's arm): the release gate's re-draw of
        a flagged pupil that keeps the file's schools and arm sizes."""
        self._check_drawable(len(rows))
        if not hasattr(self, "design_"):
            return self._draw(len(rows), rng, smooth=True)
        if isinstance(self.design_, UnitCart):  # each row in its place among its pupil's rows
            return self._finish(self.design_.sample_within(rows, rng), rng, smooth=True)
        arm = self.design_.pupil_arm_
        prepared = rows.copy()
        if arm and arm in self.labels_:
            prepared[arm] = encode_missing_categories(prepared[[arm]], [arm])[arm]
        drawn = self.design_.sample_within(prepared, self.meta_.cluster, rng)
        return self._finish(drawn, rng, smooth=True)

    def models_units(self) -> bool:
        """Whether a long-format file's pupil is modelled (its rows drawn together): the
        ``trees`` engine."""
        return self.engine == "trees"

    def drawn_units(self) -> np.ndarray | None:
        """Each row's pupil (0..k-1) in the file last drawn, the rows of a pupil together; None
        where rows were drawn one by one."""
        design = getattr(self, "design_", None)
        return design.units_ if isinstance(design, UnitCart) and hasattr(design, "units_") else None

    def schools_drawn(self) -> dict[str, Any]:
        """What the last draw of new schools did (counts; empty without two-level synthesis)."""
        return self.design_.drawn.record() if hasattr(self, "design_") else {}

    def _check_drawable(self, n: int) -> None:
        if not hasattr(self, "model_") and not hasattr(self, "design_"):
            raise RuntimeError("CartSynthesiser is not fitted yet: call fit(data, meta) first.")
        if n < 1:
            raise ValueError(f"The 'n' parameter of CartSynthesiser.sample must be >= 1. Got {n!r}.")

    def _draw(self, n: int, rng: np.random.Generator, *, smooth: bool) -> pd.DataFrame:
        self._check_drawable(n)
        if hasattr(self, "design_"):
            synthetic = self.design_.sample(n, rng)
        else:
            seed = int(rng.integers(0, 2**31 - 1))
            with _SYNTHPOP_LOCK, warnings.catch_warnings():
                warnings.filterwarnings("ignore", category=UserWarning, module="synthpop")
                synthetic = self.model_.generate(n=n, random_seed=seed)
        return self._finish(synthetic, rng, smooth=smooth)

    def _finish(self, synthetic: pd.DataFrame, rng: np.random.Generator, *, smooth: bool) -> pd.DataFrame:
        """Drawn rows in the released form: indicators applied, smoothed, categories decoded,
        schools labelled, the real columns' order and dtypes."""
        synthetic = apply_missing_indicators(synthetic)
        if smooth:
            synthetic = smooth_values(synthetic, self.smoothing_, rng)
        cluster = self.meta_.cluster
        if cluster and LABEL in synthetic.columns:  # the new schools' labels
            cluster_labels = synthetic.pop(LABEL).astype("object")
        elif cluster:
            cluster_labels = synthetic[cluster].astype("object").map(self.school_labels_)
        labels = {c: v for c, v in self.labels_.items() if c != cluster}
        synthetic = decode_missing_categories(synthetic, labels)
        if cluster:
            synthetic[cluster] = cluster_labels.to_numpy()
        return restore_dtypes(synthetic, school_formats(self.formats_, cluster)).reset_index(drop=True)


if TYPE_CHECKING:  # mypy checks the class against every capability it claims
    from trialsynth.synthesisers.base import ModelsSchools, ModelsUnits, Redraws, Remedies, Synthesiser

    _synthesiser: type[Synthesiser] = CartSynthesiser
    _redraws: type[Redraws] = CartSynthesiser
    _remedies: type[Remedies] = CartSynthesiser
    _schools: type[ModelsSchools] = CartSynthesiser
    _units: type[ModelsUnits] = CartSynthesiser
