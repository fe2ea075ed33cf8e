"""Privacy metrics of Table 3 (synthgauge) and the record matching behind the release gate."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.neighbors import LocalOutlierFactor
from synthgauge.metrics.privacy import min_nearest_neighbour, sample_overlap_score, tcap_score

from trialsynth.evaluation.metrics.closest import closest
from trialsynth.evaluation.metrics.prepare import EvaluationContext, sample_rows
from trialsynth.missing import as_label

# The finest precision a released file keeps (``synthesisers.base.column_formats`` caps a column's
# decimals at 6): real values are compared at it, so a copy rounded on release is still a copy.
COMPARE_DECIMALS = 6
NN_STUDY_MAX_ROWS = 3000  # per side: the study's version is sampled (its cost grows with rows squared)
OUTLIER_FACTOR = 2.0  # local outlier factor at or above which a real row is an outlier (synthgauge's 2)
OUTLIER_NEIGHBOURS = 5
# real rows scored for outliers at most (a seeded sample above it: the factor needs every scored
# row's neighbours among the others, as costly as the whole search at 67,200 rows)
OUTLIER_MAX_ROWS = 20_000
OVERLAP_SPLITS = 5  # random halves of the real rows behind the fresh-draw overlap, averaged


def nearest_neighbour(real: pd.DataFrame, synth: pd.DataFrame, ctx: EvaluationContext) -> dict[str, float]:
    """How close the synthetic file comes to a real record, exact over every row of both files.

    ``min_nn_distance``: the smallest distance from any synthetic row to its nearest real row, in
    the scaled space of ``scaled_rows`` (each numeric column over its real range, a category
    mismatch counting 1; Euclidean), so no column dominates by its units. 0 means a real record
    is reproduced. Exact over all rows (``closest``: within the rows' patterns of two-valued
    columns when their closest pair is nearer than any two patterns can be, else by brute force,
    single precision first and the rows that could hold the minimum again in double), the
    closest pair re-measured directly, so a copy is exactly 0.

    ``min_nn_distance_outliers``: the same, to the real rows that are local outliers (local
    outlier factor >= ``OUTLIER_FACTOR`` over ``OUTLIER_NEIGHBOURS`` neighbours, in the same
    space): the unusual pupils, for whom closeness matters most. None when the real data has no
    outlier. Above ``OUTLIER_MAX_ROWS`` real rows the factor is scored among a seeded sample of
    that many (their neighbours in the sample), and the minimum is over the sample's outliers
    (``bench/evaluation_scale.py`` measures it against the exact figure). (synthgauge's
    ``outliers_only`` keeps the rows *below* its threshold - the inliers -
    so the study's "outliers" figure was the minimum over inliers.)

    ``min_nn_distance_study``: synthgauge's ``min_nearest_neighbour`` as the study ran it -
    Manhattan distance on unscaled values and category codes, on a seeded sample of
    ``NN_STUDY_MAX_ROWS`` rows per side; kept for comparison with Table 3."""
    real_rows, synth_rows = scaled_rows(real, synth, ctx)
    smallest = closest(real_rows, synth_rows)
    outliers_min = float("nan")
    rng = np.random.default_rng(ctx.seed)
    scored = real_rows
    if len(real_rows) > OUTLIER_MAX_ROWS:  # scored among a seeded sample (see the docstring)
        scored = real_rows[np.sort(rng.choice(len(real_rows), OUTLIER_MAX_ROWS, replace=False))]
    if len(scored) > OUTLIER_NEIGHBOURS:
        lof = LocalOutlierFactor(n_neighbors=OUTLIER_NEIGHBOURS, algorithm="brute").fit(scored)
        outliers = -lof.negative_outlier_factor_ >= OUTLIER_FACTOR
        if outliers.any():
            outliers_min = closest(scored[outliers], synth_rows)
    real = sample_rows(real, NN_STUDY_MAX_ROWS, rng)
    synth = sample_rows(synth, NN_STUDY_MAX_ROWS, rng)
    return {
        "min_nn_distance": smallest,
        "min_nn_distance_outliers": outliers_min,
        "min_nn_distance_study": float(min_nearest_neighbour(real, synth, outliers_only=False)),
    }


def scaled_rows(
    real: pd.DataFrame, synth: pd.DataFrame, ctx: EvaluationContext
) -> tuple[np.ndarray, np.ndarray]:
    """Both files as numeric matrices on one scale: each numeric column (missingness indicators
    included) as (value - real minimum) / real range (a constant column: range 1), each
    categorical column one-hot over both files' categories times 1/sqrt(2), so two rows that
    differ in one category are at Euclidean distance 1, as two rows at opposite ends of one
    numeric column's real range are."""
    numeric = list(ctx.numeric)
    low = real[numeric].min()
    span = (real[numeric].max() - low).replace(0, 1.0)
    real_parts = [((real[numeric] - low) / span).to_numpy(dtype=float)]
    synth_parts = [((synth[numeric] - low) / span).to_numpy(dtype=float)]
    for name in ctx.categorical:
        both = pd.concat([real[name], synth[name]], ignore_index=True).astype(str)
        codes, labels = pd.factorize(both)
        onehot = np.eye(len(labels), dtype=float)[codes] / np.sqrt(2.0)
        real_parts.append(onehot[: len(real)])
        synth_parts.append(onehot[len(real) :])
    return np.hstack(real_parts), np.hstack(synth_parts)


def default_tcap(ctx: EvaluationContext) -> tuple[list[str], str]:
    """The manifest's TCAP key/target, or the documented default: target = the first binary or
    categorical column other than the treatment, the school and the outcomes (a pupil
    characteristic such as FSM); key = the next such column plus the primary outcome (as in the
    study). With no such column: key = the treatment, target = the primary outcome."""
    meta = ctx.meta
    if meta.tcap_key and meta.tcap_target:
        return list(meta.tcap_key), meta.tcap_target
    roles = (meta.treatment, meta.cluster, *meta.outcomes)
    discrete = [c for c in meta.of_kind("binary", "categorical") if c not in roles]
    if not discrete:
        return [meta.treatment], meta.primary_outcome
    target = discrete[0]
    key = [c for c in discrete[1:2]] + [meta.primary_outcome]
    return key, target


def tcap(real: pd.DataFrame, synth: pd.DataFrame, ctx: EvaluationContext) -> dict[str, float]:
    """Target Correct Attribution Probability for the trial's key/target (see ``default_tcap``),
    with its baseline.

    Continuous key values are used exactly, as categories (as the study did with its post-test
    key): an intruder who knows a pupil's exact score is the stronger attack, so this does not
    understate the risk the way binning would. ``tcap_baseline`` is the same score for the same
    synthetic file with its target column shuffled (seeded): what the file's keys and the target's
    distribution give an intruder when the file carries no link between them. ``tcap_excess`` is
    ``tcap`` minus that - the attribution the file's key-target link adds. A garbage file can
    score a high ``tcap`` on a skewed target; it cannot score a high excess."""
    key, target = default_tcap(ctx)
    columns = [*key, target]
    real_kt = real[columns].astype(str)
    synth_kt = synth[columns].astype(str)
    score = float(tcap_score(real_kt, synth_kt, key, target))
    unlinked = synth_kt.copy()
    unlinked[target] = np.random.default_rng(ctx.seed).permutation(unlinked[target].to_numpy())
    baseline = float(tcap_score(real_kt, unlinked, key, target))
    return {"tcap": score, "tcap_baseline": baseline, "tcap_excess": score - baseline}


def overlap(real: pd.DataFrame, synth: pd.DataFrame, ctx: EvaluationContext) -> dict[str, float]:
    """``sample_overlap``: the share of real records found exactly in the synthetic data, over
    every row (the release gate's canonical row comparison: exact at any size).
    ``sample_overlap_study``: the study's synthgauge estimate (5 samples of 20% of the real rows),
    which at one copy in thousands of rows usually misses it.

    Where the possible combinations are few against the rows (a narrow coded file), every pupil
    shares their row with many others and a fresh draw from the same distribution reproduces
    real records as surely as a copy does: exact matches say nothing about copying there. So the
    real rows are split in two halves at random (seeded, ``OVERLAP_SPLITS`` times, averaged):
    ``sample_overlap_baseline`` is the share of one half's records found in the other (what
    another sample of the same population gives), and ``exact_match_excess`` is how far the
    synthetic rows' share of matches with the reference half goes from that baseline towards
    all of them, ``(s - b) / (1 - b)``: about 0.5 for a copy of the real rows on any domain (half
    its rows are the reference half's, the other half match it as often as a fresh draw does),
    about 0 for a fresh draw, and 0 where every row is shared (b = 1: nothing to tell)."""
    columns = list(real.columns)
    real_keys, synth_keys = row_keys(real, synth, columns)
    exact = float(np.isin(real_keys, synth_keys).mean()) if len(real_keys) else float("nan")
    study = sample_overlap_score(real, synth, sample_size=0.2, runs=5, seed=ctx.seed)
    out = {"sample_overlap": exact, "sample_overlap_study": float(study)}
    if len(real_keys) < 4 or not len(synth_keys):
        return out
    rng = np.random.default_rng(ctx.seed)
    baselines, excesses = [], []
    for _ in range(OVERLAP_SPLITS):
        half = rng.permutation(len(real_keys)) < len(real_keys) // 2
        reference, other = real_keys[half], real_keys[~half]
        fresh = float(np.isin(other, reference).mean())
        share = float(np.isin(synth_keys, reference).mean())
        baselines.append(fresh)
        excesses.append((share - fresh) / (1.0 - fresh) if fresh < 1.0 else 0.0)
    out["sample_overlap_baseline"] = float(np.mean(baselines))
    out["exact_match_excess"] = float(np.mean(excesses))
    return out


def canonical(real: pd.Series, synth: pd.Series) -> tuple[pd.Series, pd.Series]:
    """One comparable form per column for both files: numbers as float64 rounded to
    ``COMPARE_DECIMALS`` places (5, 5.0 and "5" alike, -0.0 as 0.0, 0.1 + 0.2 as 0.3; a value
    released at that precision matches the real value it copies) when either file holds the column
    as numbers, else text labels (5.0 as "5"); missing stays missing on both sides."""
    numeric = any(
        pd.api.types.is_numeric_dtype(c) and not pd.api.types.is_bool_dtype(c) for c in (real, synth)
    )
    if numeric:
        return _as_float(real), _as_float(synth)
    return _as_text(real), _as_text(synth)


def _as_float(column: pd.Series) -> pd.Series:
    values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    return pd.Series(np.round(values, COMPARE_DECIMALS) + 0.0)


def _as_text(column: pd.Series) -> pd.Series:
    text = column.map(_label, na_action="ignore").astype("object").where(column.notna(), "\0NA")
    return pd.Series(text.to_numpy())


def _label(value: object) -> str:
    return str(int(value)) if isinstance(value, bool | np.bool_) else as_label(value)


def row_keys(real: pd.DataFrame, synth: pd.DataFrame, columns: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """64-bit hashes of every row of both files on ``columns``, in the canonical form."""
    pairs = [canonical(real[c].reset_index(drop=True), synth[c].reset_index(drop=True)) for c in columns]
    left = pd.DataFrame({i: p[0] for i, p in enumerate(pairs)})
    right = pd.DataFrame({i: p[1] for i, p in enumerate(pairs)})
    return (
        pd.util.hash_pandas_object(left, index=False).to_numpy(),
        pd.util.hash_pandas_object(right, index=False).to_numpy(),
    )


@dataclass(frozen=True)
class Matches:
    """Which synthetic rows equal a real record: any (``exact``), or one unique in the real data
    on the key variables (``replicated``, synthpop's replicated uniques)."""

    exact: np.ndarray  # bool per synthetic row
    replicated: np.ndarray  # bool per synthetic row
    real_uniques: int  # real records unique on the keys


def matches(real: pd.DataFrame, synth: pd.DataFrame, columns: list[str], keys: list[str]) -> Matches:
    """Synthetic rows equal on ``columns`` to a real record, and to one that is unique in the
    real data on ``keys`` (a subset of ``columns``; all of them when empty)."""
    full_real, full_synth = row_keys(real, synth, columns)
    if keys and set(keys) != set(columns):
        key_real = row_keys(real, real.iloc[:0], keys)[0]
    else:
        key_real = full_real
    counts = pd.Series(key_real).map(pd.Series(key_real).value_counts()).to_numpy()
    unique_rows = full_real[counts == 1]
    return Matches(
        exact=np.isin(full_synth, full_real),
        replicated=np.isin(full_synth, unique_rows),
        real_uniques=int((counts == 1).sum()),
    )


def replicated_pupils(
    real: pd.DataFrame, synth: pd.DataFrame, columns: list[str], units: tuple[np.ndarray, np.ndarray]
) -> np.ndarray:
    """The synthetic rows of pupils (of several rows: a pupil of one row is a row, and the row
    gate's) whose rows on ``columns``, as a set with repeats, are those of a real pupil no other
    real pupil shares: a long-format pupil reproduced whole (``units``: the real and the
    synthetic rows' pupils)."""
    real_keys, synth_keys = row_keys(real, synth, columns)

    def pupils(keys: np.ndarray, ids: np.ndarray) -> pd.Series:
        frame = pd.DataFrame({"key": keys, "pupil": np.asarray(ids).astype(str)}).sort_values(
            ["pupil", "key"]
        )
        return frame.groupby("pupil", sort=False)["key"].agg(lambda k: ",".join(map(str, k)))

    real_pupils, synth_pupils = pupils(real_keys, units[0]), pupils(synth_keys, units[1])
    counts = real_pupils.value_counts()
    sizes = pd.Series(np.asarray(units[1]).astype(str)).value_counts()
    hit = synth_pupils.isin(counts.index[counts == 1]) & (sizes.reindex(synth_pupils.index) > 1)
    return np.isin(np.asarray(units[1]).astype(str), synth_pupils.index[hit].to_numpy())
