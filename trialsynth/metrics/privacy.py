"""Privacy metrics of Table 3 (synthgauge) and the exact-match check behind the release gate."""

from __future__ import annotations

import numpy as np
import pandas as pd
from synthgauge.metrics.privacy import min_nearest_neighbour, sample_overlap_score, tcap_score

from trialsynth.metrics.prepare import EvaluationContext

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
    """The manifest's TCAP key/target, or the documented default: target = the first binary
    column other than the treatment (a pupil characteristic such as FSM); key = the first
    other categorical or binary column plus the primary outcome (as in the study)."""
    meta = ctx.meta
    if meta.tcap_key and meta.tcap_target:
        return list(meta.tcap_key), meta.tcap_target
    discrete = [c for c in meta.of_kind("binary", "categorical") if c not in (meta.treatment, meta.cluster)]
    if not discrete:
        return [meta.treatment], meta.primary_outcome
    target = discrete[0]
    key = [c for c in discrete[1:2]] + [meta.primary_outcome]
    return key, target


def tcap(real: pd.DataFrame, synth: pd.DataFrame, ctx: EvaluationContext) -> dict[str, float]:
    """Target Correct Attribution Probability for the trial's key/target (see ``default_tcap``).

    Continuous key values are used exactly, as categories (as the study did with its post-test
    key): an intruder who knows a pupil's exact score is the stronger attack, so this does not
    understate the risk the way binning would."""
    key, target = default_tcap(ctx)
    columns = [*key, target]
    real_kt = real[columns].astype(str)
    synth_kt = synth[columns].astype(str)
    return {"tcap": float(tcap_score(real_kt, synth_kt, key, target))}


def overlap(real: pd.DataFrame, synth: pd.DataFrame, ctx: EvaluationContext) -> dict[str, float]:
    """Share of sampled real records found exactly in the synthetic data (5 runs of 20%)."""
    score = sample_overlap_score(real, synth, sample_size=0.2, runs=5, seed=ctx.seed)
    return {"sample_overlap": float(score)}


def reproduced_records(real: pd.DataFrame, synth: pd.DataFrame, ignore: tuple[str, ...] = ()) -> int:
    """Number of synthetic rows identical to some real row on every synthesised column.

    ``ignore`` names columns whose synthetic values are new by construction (pseudonymised
    school labels): comparing them would let every copied pupil record pass."""
    columns = [c for c in real.columns if c not in ignore]
    keys_real = pd.util.hash_pandas_object(real[columns].astype("object").fillna("\0"), index=False)
    keys_synth = pd.util.hash_pandas_object(synth[columns].astype("object").fillna("\0"), index=False)
    return int(np.isin(keys_synth.to_numpy(), keys_real.to_numpy()).sum())
