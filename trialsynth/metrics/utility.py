"""Utility: synthgauge's classification comparison with an SVM on the primary outcome.

As in the study (footnote 43): an SVM (scikit-learn ``SVC``) predicts the primary outcome from
every other column; synthgauge scales numeric and one-hot encodes categorical features, trains
one model on real and one on synthetic data, tests both on held-out real rows and reports the
real-minus-synthetic difference in macro precision, recall and F1.

A classifier needs classes: a continuous primary outcome is cut into quartile bands at the real
data's quartiles (the same edges for both frames). Training sets are capped at
``MAX_TRAIN_ROWS`` rows (seeded sample) because SVM training grows quadratically.

Categorical features are one-hot encoded here, over the union of real and synthetic categories,
before synthgauge sees them: synthgauge's encoder is fitted on each side's training rows alone
and raises when a category is absent from one side (seen on SD2011's ``eduspec``). synthgauge
then standardises every feature, the dummies included.
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
# A class the synthetic-trained model never predicts has undefined precision (scored 0, as
# synthgauge does); process-wide because catch_warnings() is not thread-safe.
warnings.filterwarnings("ignore", category=UndefinedMetricWarning)


class SvcOrConstant(SVC):
    """The study's SVM, except that trained on rows of a single class it predicts that class -
    what any classifier learns from them - instead of raising (a synthetic file that lost every
    other class of the outcome then scores as badly as it should, and the trial is not lost)."""

    def fit(self, X, y, sample_weight=None):  # noqa: N803 - scikit-learn's names
        classes = np.unique(y)
        self.constant_ = classes[0] if len(classes) == 1 else None
        if self.constant_ is not None:
            self.classes_ = classes
            return self
        return super().fit(X, y, sample_weight=sample_weight)

    def predict(self, X):  # noqa: N803
        if getattr(self, "constant_", None) is not None:
            return np.full(len(X), self.constant_, dtype=object)
        return super().predict(X)


def outcome_classes(real: pd.Series, synth: pd.Series, numeric: bool) -> tuple[pd.Series, pd.Series]:
    if not numeric or real.nunique() <= 10:
        return real.astype(str), synth.astype(str)
    edges = np.unique(np.quantile(real, [0.25, 0.5, 0.75]))
    return (
        pd.Series(np.digitize(real, edges), index=real.index).astype(str),
        pd.Series(np.digitize(synth, edges), index=synth.index).astype(str),
    )


def _one_hot_on_union(real: pd.DataFrame, synth: pd.DataFrame, feats: list[str], categorical: list[str]):
    if not categorical:
        return real, synth, feats
    both = pd.concat([real[categorical], synth[categorical]], keys=["real", "synth"])
    dummies = pd.get_dummies(both.astype(str), prefix_sep="=", dtype=float)
    real = pd.concat([real.drop(columns=categorical), dummies.loc["real"].set_axis(real.index)], axis=1)
    synth = pd.concat([synth.drop(columns=categorical), dummies.loc["synth"].set_axis(synth.index)], axis=1)
    feats = [c for c in feats if c not in categorical] + list(dummies.columns)
    return real, synth, feats


def classification(real: pd.DataFrame, synth: pd.DataFrame, ctx: EvaluationContext) -> dict[str, float]:
    target = ctx.meta.primary_outcome
    rng = np.random.default_rng(ctx.seed)
    cap = int(MAX_TRAIN_ROWS / 0.8)
    real = real.iloc[np.sort(rng.choice(len(real), min(cap, len(real)), replace=False))].copy()
    synth = synth.iloc[np.sort(rng.choice(len(synth), min(cap, len(synth)), replace=False))].copy()
    real[target], synth[target] = outcome_classes(real[target], synth[target], target in ctx.numeric)
    feats = [c for c in real.columns if c != target and not c.startswith(target + "__")]
    real, synth, feats = _one_hot_on_union(real, synth, feats, [c for c in ctx.categorical if c in feats])
    precision, recall, f1 = classification_comparison(
        real, synth, feats, target, SvcOrConstant, test_prop=0.2, random_state=ctx.seed
    )
    return {"precision_diff": float(precision), "recall_diff": float(recall), "f1_diff": float(f1)}
