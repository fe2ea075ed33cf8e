"""Privacy metrics of Table 3 (synthgauge) and the record matching behind the release gate."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from synthgauge.metrics.privacy import min_nearest_neighbour, sample_overlap_score, tcap_score

from trialsynth.metrics.prepare import EvaluationContext
from trialsynth.missing import as_label

# The finest precision a released file keeps (``synthesisers.base.column_formats`` caps a column's
# decimals at 6): real values are compared at it, so a copy rounded on release is still a copy.
COMPARE_DECIMALS = 6
NN_MAX_ROWS = 15000  # per side; brute-force Manhattan distances grow with rows squared


def nearest_neighbour(real: pd.DataFrame, synth: pd.DataFrame, ctx: EvaluationContext) -> dict[str, float]:
    """Minimum Manhattan distance from a synthetic row to a real row: all rows, and real
    outliers only (synthgauge's local-outlier-factor filter, threshold 2, 5 neighbours).

    Trials above ``NN_MAX_ROWS`` rows are measured on a seeded sample of that many rows per side
    (a 67,200-row trial took minutes otherwise); the sampled minimum can only be larger than the
    full one, so exact copies are caught by the release gate, which always compares every row."""
    rng = np.random.default_rng(ctx.seed)
    if len(real) > NN_MAX_ROWS:
        real = real.iloc[np.sort(rng.choice(len(real), NN_MAX_ROWS, replace=False))]
    if len(synth) > NN_MAX_ROWS:
        synth = synth.iloc[np.sort(rng.choice(len(synth), NN_MAX_ROWS, replace=False))]
    return {
        "min_nn_distance": float(min_nearest_neighbour(real, synth, outliers_only=False)),
        "min_nn_distance_outliers": float(min_nearest_neighbour(real, synth, outliers_only=True)),
    }


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
    which at one copy in thousands of rows usually misses it."""
    columns = list(real.columns)
    real_keys, synth_keys = row_keys(real, synth, columns)
    exact = float(np.isin(real_keys, synth_keys).mean()) if len(real_keys) else float("nan")
    study = sample_overlap_score(real, synth, sample_size=0.2, runs=5, seed=ctx.seed)
    return {"sample_overlap": exact, "sample_overlap_study": float(study)}


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
