"""Attacks against the holdout: a file that copies its training rows is caught by every attack;
a file drawn from the same population without seeing them is not."""

import numpy as np
import pytest

from trialsynth.data.cleaning import clean
from trialsynth.data.surrogate import TrialShape, demo_roles, make_trial
from trialsynth.evaluation.holdout import holdout_mask
from trialsynth.evaluation.metrics import METRICS, evaluation_view
from trialsynth.evaluation.metrics.attacks import ATTACK_KEYS, Rate, risk, risk_against
from trialsynth.plan import Roles


@pytest.fixture(scope="module")
def population():
    frame = make_trial(TrialShape(4000, 14), 5)
    data, meta = clean(frame, Roles.of(**demo_roles(frame)), trial_id="t")
    real = data.iloc[:2000].reset_index(drop=True)
    other = data.iloc[2000:].reset_index(drop=True)  # the same population, never seen
    held = holdout_mask(len(real), 0.25, np.random.default_rng(1))
    return real, other, held, meta


def _attack(real, synthetic, held, meta):
    real_view, synth_view, ctx = evaluation_view(real, synthetic, meta, 3, held)
    return {**METRICS["attacks"](real_view, synth_view, ctx), **METRICS["dcr"](real_view, synth_view, ctx)}


def test_a_copy_of_the_training_rows_scores_maximal_risk_on_every_attack(population):
    real, other, held, meta = population
    train = real.loc[~held].reset_index(drop=True)
    copy = train.iloc[np.random.default_rng(2).choice(len(train), len(real))].reset_index(drop=True)
    copied, unseen = _attack(real, copy, held, meta), _attack(real, other, held, meta)
    for key in ATTACK_KEYS:
        assert copied[key] > unseen[key] + 0.3, key
    assert copied["singling_out_risk"] > 0.9 and copied["dcr_share"] > 0.95
    assert copied["linkability_risk_low"] > 0.5 and copied["inference_risk_low"] > 0.4
    # rows of the same population the synthesiser never saw: no excess over the control
    assert unseen["linkability_risk"] < 0.05 and unseen["inference_risk"] < 0.15
    assert abs(unseen["dcr_share"] - 0.5) < 0.07 and unseen["singling_out_risk_low"] < 0.3


def test_copying_the_held_out_rows_instead_reads_as_no_risk(population):
    """The attacks measure what the file says about the rows it learnt from: a file made of the
    control rows looks *less* like the training rows than the control does."""
    real, _, held, meta = population
    control = real.loc[held].reset_index(drop=True)
    result = _attack(real, control.sample(len(real), replace=True, random_state=1), held, meta)
    assert result["linkability_risk"] < 0 and result["dcr_share"] < 0.1


def test_no_holdout_means_no_measure(population):
    real, other, _, meta = population
    result = _attack(real, other, np.zeros(len(real), dtype=bool), meta)
    assert all(np.isnan(result[key]) for key in ATTACK_KEYS)


def test_risk_is_the_normalised_excess_with_a_wilson_interval():
    point, low, high = risk(Rate(60, 100), Rate(20, 100))
    assert point == pytest.approx(0.5)
    assert low < point < high and high - low < 0.5
    assert risk(Rate(20, 100), Rate(20, 100))[0] == pytest.approx(0.0)
    assert risk_against(Rate(100, 100), 0.8)[0] == pytest.approx(1.0)
    assert risk_against(Rate(80, 100), 0.8)[0] == pytest.approx(0.0)


def test_a_singling_out_estimate_on_a_handful_of_predicates_is_shrunk_not_maximal():
    """One predicate singling out one training pupil is no evidence of a risk of 1."""
    point, low, high = risk_against(Rate(1, 1), 0.8, prior=20)
    assert point < 0.1 and low < 0 and high == 1.0
    assert risk_against(Rate(500, 500), 0.8, prior=20)[0] > 0.9
