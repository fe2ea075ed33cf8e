"""The utility comparison survives, and scores badly, a synthetic file whose outcome lost a class."""

import numpy as np

from trialsynth.metrics.prepare import evaluation_view
from trialsynth.metrics.utility import SvcOrConstant, classification


def test_an_outcome_with_one_synthetic_class_scores_badly_instead_of_failing(cleaned_trial):
    data, meta = cleaned_trial
    synthetic = data.copy()
    synthetic[meta.primary_outcome] = data[meta.primary_outcome].median()  # every row one class
    real_view, synth_view, context = evaluation_view(data, synthetic, meta, seed=3)
    scores = classification(real_view, synth_view, context)
    assert all(np.isfinite(v) for v in scores.values())
    assert scores["f1_diff"] > 0.2  # the real-trained model is far better


def test_a_constant_model_predicts_its_only_class():
    model = SvcOrConstant().fit(np.zeros((4, 2)), np.array(["a"] * 4))
    assert list(model.predict(np.ones((3, 2)))) == ["a", "a", "a"]
    two = SvcOrConstant().fit(np.array([[0.0], [0.1], [1.0], [1.1]]), np.array(["a", "a", "b", "b"]))
    assert list(two.predict(np.array([[0.05], [1.05]]))) == ["a", "b"]
