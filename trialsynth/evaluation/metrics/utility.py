"""Utility: an SVM on the primary outcome, trained on real and on synthetic rows, tested on real rows.

As in the study (footnote 43): an SVM (scikit-learn ``SVC``) predicts the primary outcome from
every other column; numeric features are standardised and categorical ones one-hot encoded
(synthgauge's preprocessing), one model is trained on real and one on synthetic rows, both are
tested on the same real rows, and the real-minus-synthetic difference in macro precision, recall
and F1 is reported (positive: the synthetic-trained model is worse).

Each file is split as synthgauge's ``classification_comparison`` splits it (80/20,
``STUDY_TRAIN_SHARE``; the real file's split drawn from the rows the synthesiser was fitted on),
and the same two models are scored twice:

- ``precision_diff``, ``recall_diff``, ``f1_diff``: on the trial's **holdout** - real rows the
  synthesiser never saw (``trialsynth.evaluation.holdout``). A synthesiser that memorises its training rows
  gains nothing here.
- ``f1_diff_study``: on the real file's 20% split, as the study did - rows the synthesiser was
  fitted on, so a memorising synthesiser looks as good as the real data or better. Kept for
  comparison with Table 3; its gap to ``f1_diff`` is what memorisation buys in-sample.

Without a holdout (``holdout_share: 0``) the three keys take the study's version and the lineage
says so. Both are built from synthgauge's own preprocessing, pipeline and scores (two SVM fits in all).
One difference from ``classification_comparison``: each model has a preprocessor of its own
(synthgauge's shares one between its two pipelines, so its real model predicts with the scaler
last fitted on synthetic rows).

A classifier needs classes: a continuous primary outcome is cut into quartile bands at the real
data's quartiles (the same edges for every frame). Training sets are capped at
``MAX_TRAIN_ROWS`` rows (seeded sample) because SVM training grows quadratically.

Categorical features are one-hot encoded here, over the union of real and synthetic categories,
before synthgauge's preprocessing sees them: its encoder is fitted on one side's training rows
alone and raises when a category is absent from the other (seen on SD2011's ``eduspec``).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.model_selection import train_test_split
from sklearn.svm import SVC
from synthgauge.metrics.classification import _get_scores, _make_pipeline, _make_preprocessor

from trialsynth.evaluation.metrics.prepare import EvaluationContext, sample_rows

MAX_TRAIN_ROWS = 4000
STUDY_TRAIN_SHARE = 0.8  # the study's split of each file (synthgauge's test_prop 0.2)
MAX_TEST_ROWS = 5000  # holdout rows scored (seeded sample); prediction grows with support vectors
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
    real, synth = real.copy(), synth.copy()
    real[target], synth[target] = outcome_classes(real[target], synth[target], target in ctx.numeric)
    feats = [c for c in real.columns if c != target and not c.startswith(target + "__")]
    real, synth, feats = _one_hot_on_union(real, synth, feats, [c for c in ctx.categorical if c in feats])
    holdout = ctx.holdout if ctx.holdout is not None else np.zeros(len(real), dtype=bool)
    held = bool(holdout.any() and not holdout.all())
    training = real[~holdout]  # rows the synthesiser was fitted on
    # the study's split (synthgauge's classification_comparison): 80/20 of a capped sample per side
    cap = int(MAX_TRAIN_ROWS / STUDY_TRAIN_SHARE)
    real_train, seen_test = train_test_split(
        sample_rows(training, cap, rng), test_size=1 - STUDY_TRAIN_SHARE, random_state=ctx.seed
    )
    synth_train, _ = train_test_split(
        sample_rows(synth, cap, rng), test_size=1 - STUDY_TRAIN_SHARE, random_state=ctx.seed
    )
    # as many training rows on both sides: the real side lost its holdout, and an SVM on more
    # rows scores better, which would flatter the synthetic file
    synth_train = sample_rows(synth_train, len(real_train), rng)
    real_model = _model(real_train, feats, target, ctx.seed)
    synth_model = _model(synth_train, feats, target, ctx.seed)
    study = np.subtract(
        _scores(real_model, seen_test, feats, target), _scores(synth_model, seen_test, feats, target)
    )
    precision, recall, f1 = study
    if held:
        unseen = sample_rows(real[holdout], MAX_TEST_ROWS, rng)
        precision, recall, f1 = np.subtract(
            _scores(real_model, unseen, feats, target), _scores(synth_model, unseen, feats, target)
        )
    return {
        "precision_diff": float(precision),
        "recall_diff": float(recall),
        "f1_diff": float(f1),
        "f1_diff_study": float(study[2]),
    }


def _model(train: pd.DataFrame, feats: list[str], target: str, seed: int):
    """The study's SVM with synthgauge's preprocessing (a preprocessor of its own), trained on ``train``."""
    model = _make_pipeline(SvcOrConstant, seed, _make_preprocessor(train, feats))
    return model.fit(train[feats], train[target].to_numpy())


def _scores(model, test: pd.DataFrame, feats: list[str], target: str) -> list[float]:
    """Macro precision, recall and F1 of ``model`` on ``test`` (synthgauge's scores)."""
    return _get_scores(test[target], model.predict(test[feats]))
