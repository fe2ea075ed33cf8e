"""Utility: synthgauge's classification comparison with an SVM on the primary outcome.

As in the study (footnote 43): an SVM (scikit-learn ``SVC``) predicts the primary outcome from
every other column; synthgauge scales numeric and one-hot encodes categorical features, trains
one model on real and one on synthetic data, tests both on held-out real rows and reports the
real-minus-synthetic difference in macro precision, recall and F1.

A classifier needs classes: a continuous primary outcome is cut into quartile bands at the real
data's quartiles (the same edges for both frames). Training sets are capped at
``MAX_TRAIN_ROWS`` rows (seeded sample) because SVM training grows quadratically.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.svm import SVC
from synthgauge.metrics.classification import classification_comparison

from trialsynth.metrics.prepare import EvaluationContext

MAX_TRAIN_ROWS = 4000


def outcome_classes(real: pd.Series, synth: pd.Series, numeric: bool) -> tuple[pd.Series, pd.Series]:
    if not numeric or real.nunique() <= 10:
        return real.astype(str), synth.astype(str)
    edges = np.unique(np.quantile(real, [0.25, 0.5, 0.75]))
    return (
        pd.Series(np.digitize(real, edges), index=real.index).astype(str),
        pd.Series(np.digitize(synth, edges), index=synth.index).astype(str),
    )


def classification(real: pd.DataFrame, synth: pd.DataFrame, ctx: EvaluationContext) -> dict[str, float]:
    target = ctx.meta.primary_outcome
    rng = np.random.default_rng(ctx.seed)
    cap = int(MAX_TRAIN_ROWS / 0.8)
    real = real.iloc[np.sort(rng.choice(len(real), min(cap, len(real)), replace=False))].copy()
    synth = synth.iloc[np.sort(rng.choice(len(synth), min(cap, len(synth)), replace=False))].copy()
    real[target], synth[target] = outcome_classes(real[target], synth[target], target in ctx.numeric)
    feats = [c for c in real.columns if c != target and not c.startswith(target + "__")]
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=UndefinedMetricWarning)
        precision, recall, f1 = classification_comparison(
            real, synth, feats, target, SVC, test_prop=0.2, random_state=ctx.seed
        )
    return {"precision_diff": float(precision), "recall_diff": float(recall), "f1_diff": float(f1)}
