"""The utility comparison survives, and scores badly, a synthetic file whose outcome lost a class."""

import numpy as np

from trialsynth.evaluation.metrics.prepare import evaluation_view
from trialsynth.evaluation.metrics.utility import SvcOrConstant, classification


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


def test_a_memorising_synthesiser_gains_nothing_on_the_holdout(cleaned_trial):
    """A file that copies the training rows (in a new order, as a synthesiser draws them) looks
    better than real data when tested on rows it copied (the study's version) and no better when
    tested on rows it never saw."""
    from trialsynth.evaluation.holdout import holdout_mask

    data, meta = cleaned_trial
    held = holdout_mask(len(data), 0.2, np.random.default_rng(7))
    memorised = data.loc[~held].sample(frac=1.0, random_state=1).reset_index(drop=True)
    real_view, synth_view, context = evaluation_view(data, memorised, meta, seed=3, holdout=held)
    scores = classification(real_view, synth_view, context)
    assert scores["f1_diff_study"] < -0.05  # "better than real" in-sample
    assert scores["f1_diff"] > scores["f1_diff_study"] + 0.05
    in_sample = classification(*evaluation_view(data, memorised, meta, seed=3))  # holdout_share 0
    assert in_sample["f1_diff"] == in_sample["f1_diff_study"] < -0.05
