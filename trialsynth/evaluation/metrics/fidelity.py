"""Fidelity metrics of the study's Table 3, computed by synthgauge."""

from __future__ import annotations

import numpy as np
import pandas as pd
from synthgauge.metrics.correlation import correlation_ratio_msd
from synthgauge.metrics.density import _feature_density_diff
from synthgauge.metrics.propensity import pmse
from synthgauge.utils import df_combine

from trialsynth.evaluation.metrics.prepare import MISSING_SUFFIX, EvaluationContext, sample_rows

PMSE_MAX_ROWS = 20000  # per side; larger trials are subsampled (seeded) for the propensity model
# Bootstrap draws for the null pMSE. Measured on halves of one 19,800-row demo trial (6 splits,
# each half the other's "synthetic" file; ideal ratio 1): 5 draws gave ratios 0.65-1.25, 20 gave
# 0.72-1.03, 50 gave 0.64-1.07. The null's own spread is about a third of its mean, so the mean of
# 12 draws is within ~9% (one SE) - small beside the observed pMSE, a single fit, whose spread is
# what remains at 50 draws. Each draw is one tree on twice the real rows (0.13 s at 9,900 rows),
# and the draws are the longest task of the evaluation (its budget: 6 s at 9,900 x 22).
PMSE_BOOTSTRAPS = 12
# An unrestricted tree isolates every distinct row, so observed and null pMSE no longer depend on
# the synthetic data (measured: ratio 2.31 both for CART output and for an unrelated sample). A
# depth-limited tree measures distributional differences: CART output 0.90, column-wise
# independent shuffles 33.7 on the 9,900-row demo trial.
PROPENSITY_TREE = {"max_depth": 6, "min_samples_leaf": 20}
# Fewest schools (each side) for the propensity model at the schools' level, and its tree: a
# school table holds tens of rows: a shallower tree with smaller leaves than the pupils' model's
# (on 50 schools, a context moved by two deviations reads 3.1, CART's new schools 1.5; depth 6 and
# leaves of 5 overfit the null: 2.5 against 2.1).
SCHOOL_LEVEL_MIN = 10
SCHOOL_TREE = {"max_depth": 3, "min_samples_leaf": 10}


def correlation(real: pd.DataFrame, synth: pd.DataFrame, ctx: EvaluationContext) -> dict[str, float]:
    """Mean-squared difference of pairwise Pearson correlations.

    ``corr_msd`` is the study's Table 3 measure: pairs of **continuous** columns. ``corr_msd_other``
    is the same over every other pair of numeric columns (binary columns, the treatment codes,
    missingness indicators), reported apart. An undefined synthetic correlation (a column made
    constant) counts as 0 - the relationship is gone - so a destroyed column raises the measure
    instead of dropping out of the mean (synthgauge's ``nanmean`` hides it). Correlation ratios of
    categorical x numeric pairs as before (synthgauge; NaN when a trial has no categorical)."""
    ratio = float("nan")
    if ctx.categorical and ctx.numeric:
        # a numeric column constant on one side has no correlation ratio: NaN (stored as None),
        # not a RuntimeWarning on the operator's screen; errstate is per thread
        with np.errstate(invalid="ignore", divide="ignore"):
            codes_real, codes_synth = _category_codes(real, synth, ctx)
            ratio = correlation_ratio_msd(
                codes_real, codes_synth, categorical=list(ctx.categorical), numeric=list(ctx.numeric)
            )
    continuous = [c for c in ctx.numeric if ctx.meta.kinds.get(c) == "continuous"]
    return {
        "corr_msd": _corr_msd(
            real, synth, list(ctx.numeric), lambda a, b: a in continuous and b in continuous
        ),
        "corr_msd_other": _corr_msd(
            real, synth, list(ctx.numeric), lambda a, b: not (a in continuous and b in continuous)
        ),
        "corr_ratio_msd": float(ratio),
    }


def _category_codes(
    real: pd.DataFrame, synth: pd.DataFrame, ctx: EvaluationContext
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Categorical columns as integer codes over both files' categories: the correlation ratio
    depends only on which rows share a category, and synthgauge sorts the labels of every
    category for every pair (2.2 s of text sorting on a 9,900 x 22 trial, 0.1 s as codes)."""
    real, synth = real.copy(), synth.copy()
    for name in ctx.categorical:
        codes, _ = pd.factorize(pd.concat([real[name], synth[name]], ignore_index=True))
        real[name] = codes[: len(real)]
        synth[name] = codes[len(real) :]
    return real, synth


def _corr_msd(real: pd.DataFrame, synth: pd.DataFrame, columns: list[str], keep) -> float:
    """Mean squared difference over the pairs ``keep`` accepts whose real correlation is defined."""
    with np.errstate(invalid="ignore", divide="ignore"):
        r = real[columns].corr(method="pearson").to_numpy()
        s = synth[columns].corr(method="pearson").to_numpy()
    upper = np.triu_indices(len(columns), k=1)
    pairs = [(i, j) for i, j in zip(*upper, strict=True) if keep(columns[i], columns[j])]
    diffs = [
        (r[i, j] - (0.0 if np.isnan(s[i, j]) else s[i, j])) ** 2 for i, j in pairs if not np.isnan(r[i, j])
    ]
    return float(np.mean(diffs)) if diffs else float("nan")


def propensity(real: pd.DataFrame, synth: pd.DataFrame, ctx: EvaluationContext) -> dict[str, float]:
    """pMSE ratio and standardised pMSE: synthgauge's CART propensity model (``PROPENSITY_TREE``)
    against its bootstrap estimate of the null (``PMSE_BOOTSTRAPS`` draws of the real data
    against itself, computed once for both).

    ``pmse_ratio`` = observed / null mean: about 1 means indistinguishable, larger is worse.
    ``pmse_standardised`` = (observed - null mean) / null standard deviation (synthpop's S_pMSE
    for a CART model): how many null standard deviations the file sits above the null; about 0
    is indistinguishable, a few units is the sampling noise of one file.

    A trial with ``SCHOOL_LEVEL_MIN`` schools or more (in both files) is compared at each of its
    two levels (``school_level_ratio``): ``pmse_ratio_pupils`` on the pupil-level columns,
    ``pmse_ratio_schools`` on one row per school, and ``pmse_ratio`` is the larger.

    ``propensity_metrics`` shuffles a read-only array under pandas 3, so the indicator is made
    writable here and synthgauge's ``pmse`` is called directly, for the observed file and for
    each null draw (its ``pmse_ratio`` and ``pmse_standardised`` would each draw the null again)."""
    schools = school_level_ratio(real, synth, ctx)
    columns = [c for c in real.columns if _pupil_level(c, ctx)] if schools is not None else list(real.columns)
    ratio, standardised = _pmse(real[columns], synth[columns], ctx.seed)
    if schools is None:
        return {"pmse_ratio": ratio, "pmse_standardised": standardised}
    return {
        "pmse_ratio": max(ratio, schools),
        "pmse_standardised": standardised,
        "pmse_ratio_pupils": ratio,
        "pmse_ratio_schools": schools,
    }


def _pupil_level(column: str, ctx: EvaluationContext) -> bool:
    return column.removesuffix(MISSING_SUFFIX) not in ctx.school_columns


def school_level_ratio(real: pd.DataFrame, synth: pd.DataFrame, ctx: EvaluationContext) -> float | None:
    """The pMSE ratio of a trial of schools at the schools' level: one row per school - its
    school-level columns, log size and its pupils' means (category shares, missingness rates) -
    against a null of two bootstrap samples of the real schools; None for a trial with fewer
    than ``SCHOOL_LEVEL_MIN`` schools in either file.

    A trial of schools is two tables, and a file of new schools is compared with the real one at
    each level. On the pupils' rows, every school-level value is a point mass of one school's
    pupils that a propensity tree isolates: a file of new schools is told apart from the real
    one as another sample of the same schools' population would be (on the 9,900-row demo trial,
    two resamples of the real schools sit 21 times the rows' null apart), and only a file that
    reproduces the real schools scores near 1 there - so school-level columns are judged among
    schools, pupil-level columns among pupils."""
    if ctx.schools is None or ctx.synth_schools is None:
        return None
    if min(len(np.unique(ctx.schools)), len(np.unique(ctx.synth_schools))) < SCHOOL_LEVEL_MIN:
        return None
    both = pd.get_dummies(pd.concat([real, synth], ignore_index=True), dtype=float)
    tables = []
    for part, schools in ((both.iloc[: len(real)], ctx.schools), (both.iloc[len(real) :], ctx.synth_schools)):
        grouped = part.set_axis(schools).groupby(level=0, sort=False)
        table = grouped.mean()
        table["__log_size__"] = np.log(grouped.size().astype(float))
        tables.append(table.fillna(0.0).to_numpy(dtype=np.float32))
    combined = np.vstack(tables)
    indicator = np.repeat([0, 1], [len(tables[0]), len(tables[1])])
    observed = pmse(combined, indicator, method="cart", random_state=ctx.seed, **SCHOOL_TREE)
    loc, _ = _bootstrap_null(tables[0], ctx.seed, SCHOOL_TREE)
    with np.errstate(invalid="ignore", divide="ignore"):
        return float(np.divide(observed, loc))


def _pmse(real: pd.DataFrame, synth: pd.DataFrame, seed: int) -> tuple[float, float]:
    """The pMSE ratio and standardised pMSE of ``synth`` against ``real`` (rows' null)."""
    rng = np.random.default_rng(seed)
    real = sample_rows(real, PMSE_MAX_ROWS, rng)
    synth = sample_rows(synth, PMSE_MAX_ROWS, rng)
    combined = pd.get_dummies(df_combine(real, synth, source_val_real=0, source_val_synth=1), drop_first=True)
    indicator = np.array(combined.pop("source").to_numpy(), dtype=int, copy=True)
    combined = combined.astype("float64")
    matrix = combined.to_numpy(dtype=np.float32)  # what the tree fits on; 15% faster than a frame
    observed = pmse(matrix, indicator, method="cart", random_state=seed, **PROPENSITY_TREE)
    loc, scale = _bootstrap_null(matrix[indicator == 0], seed)
    with np.errstate(invalid="ignore", divide="ignore"):
        return float(np.divide(observed, loc)), float(np.divide(observed - loc, scale))


def _bootstrap_null(real: np.ndarray, seed: int, tree: dict | None = None) -> tuple[float, float]:
    """Mean and standard deviation of the pMSE between two bootstrap samples of the real rows
    (synthgauge's ``_pmse_cart_stats_boot``, on a matrix): each draw takes twice the real rows
    with replacement and labels the first half real, the second synthetic."""
    rng = np.random.default_rng(seed)
    rows = len(real)
    labels = np.repeat([0, 1], rows)
    draws = [
        pmse(
            real[rng.integers(rows, size=2 * rows)],
            labels,
            method="cart",
            random_state=seed,
            **(tree or PROPENSITY_TREE),
        )
        for _ in range(PMSE_BOOTSTRAPS)
    ]
    return float(np.mean(draws)), float(np.std(draws))


def density(real: pd.DataFrame, synth: pd.DataFrame, ctx: EvaluationContext) -> dict[str, float]:
    """Mean absolute difference of feature distributions over 10 bins, every column alike.

    ``feature_density_mad`` compares the *share of rows* in each bin (synthgauge's per-bin density
    difference times the bin's width), so every column weighs the same whatever its range.
    ``feature_density_mad_study`` is synthgauge's measure as the study reported it: densities per
    unit of the column's scale, where a wide column (a test score 0-200) contributes almost
    nothing, so uniform noise in it goes unseen."""
    densities, shares = [], []
    for name in real.columns.intersection(synth.columns):
        diff, edges = _feature_density_diff(real, synth, name, bins=10)  # as feature_density_mad does
        densities.append(np.abs(diff))
        shares.append(np.abs(diff * np.diff(edges)))
    if not shares:
        return {"feature_density_mad": float("nan"), "feature_density_mad_study": float("nan")}
    return {
        "feature_density_mad": float(np.mean(np.concatenate(shares))),
        "feature_density_mad_study": float(np.mean(np.concatenate(densities))),  # = feature_density_mad
    }
