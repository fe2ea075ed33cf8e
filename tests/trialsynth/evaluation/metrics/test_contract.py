"""Every metric family returns finite floats under its catalogue keys; sanity on known cases."""

import math

import numpy as np
import pytest

from trialsynth.evaluation.holdout import holdout_mask
from trialsynth.evaluation.metrics import EXTRA_METRIC_KEYS, METRIC_KEYS, METRICS, evaluation_view
from trialsynth.evaluation.metrics.attacks import ATTACK_CI_KEYS, ATTACK_KEYS
from trialsynth.evaluation.metrics.evaluate import evaluate
from trialsynth.evaluation.metrics.privacy import default_tcap, matches
from trialsynth.synthesisers import get_synthesiser

FAMILY_KEYS = set(METRIC_KEYS) | set(EXTRA_METRIC_KEYS) | set(ATTACK_KEYS) | set(ATTACK_CI_KEYS)


@pytest.fixture(scope="module")
def synthetic(cleaned_trial):
    data, meta = cleaned_trial
    return get_synthesiser("cart", random_state=3).fit(data, meta).sample(len(data), np.random.default_rng(3))


@pytest.mark.parametrize("family", sorted(METRICS))
def test_family_returns_finite_catalogue_keys(family, cleaned_trial, synthetic):
    data, meta = cleaned_trial
    held = holdout_mask(len(data), 0.2, np.random.default_rng(1))
    real_view, synth_view, context = evaluation_view(data, synthetic, meta, seed=1, holdout=held)
    values = METRICS[family](real_view, synth_view, context)
    assert values and set(values) <= FAMILY_KEYS
    assert all(isinstance(v, float) and math.isfinite(v) for v in values.values()), values


def test_evaluate_covers_every_key(cleaned_trial, synthetic):
    data, meta = cleaned_trial
    metrics = evaluate(data, synthetic, meta, seed=1)
    assert set(metrics) == FAMILY_KEYS
    # 13 schools drawn anew: their school-level values move whole bins (about 0.01 on this trial)
    assert 0 <= metrics["feature_density_mad"] < 0.02 and metrics["feature_density_mad_study"] < 0.1
    assert metrics["pmse_ratio"] == max(metrics["pmse_ratio_pupils"], metrics["pmse_ratio_schools"])
    assert metrics["sample_overlap"] == 0.0


def test_real_against_itself(cleaned_trial):
    data, meta = cleaned_trial
    real_view, synth_view, context = evaluation_view(data, data, meta, seed=1)
    assert METRICS["correlation"](real_view, synth_view, context)["corr_msd"] == pytest.approx(0)
    assert METRICS["density"](real_view, synth_view, context)["feature_density_mad"] == pytest.approx(0)
    assert METRICS["nearest_neighbour"](real_view, synth_view, context)["min_nn_distance"] == 0
    assert METRICS["overlap"](real_view, synth_view, context)["sample_overlap"] == 1.0


def _copies(real, synth, ignore=()):
    return int(matches(real, synth, [c for c in real.columns if c not in ignore], []).exact.sum())


def test_matches_counts_exact_copies(cleaned_trial, synthetic):
    data, _ = cleaned_trial
    assert _copies(data, synthetic) == 0
    leaked = synthetic.copy()
    leaked.iloc[:3] = data.iloc[[5, 9, 40]].to_numpy()
    assert _copies(data, leaked) == 3
    leaked["school_id"] = "school-999"
    assert _copies(data, leaked) == 0
    assert _copies(data, leaked, ignore=("school_id",)) == 3


def test_tcap_uses_manifest_then_default(cleaned_trial):
    data, meta = cleaned_trial
    _, _, context = evaluation_view(data, data, meta, seed=1)
    assert default_tcap(context) == (["pupil_gender", "post_test_1"], "pupil_fsm")
    from dataclasses import replace

    bare = replace(context, meta=replace(meta, tcap_key=(), tcap_target=None))
    key, target = default_tcap(bare)
    assert target == "pupil_gender" and key[-1] == "post_test_1"


def test_undefined_metrics_are_none_not_nan(cleaned_trial, synthetic, monkeypatch):
    import json

    from trialsynth.evaluation import metrics as metrics_module

    data, meta = cleaned_trial
    monkeypatch.setitem(
        metrics_module.METRICS, "correlation", lambda r, s, c: {"corr_ratio_msd": float("nan")}
    )
    values = evaluate(data, synthetic, meta, seed=1)
    assert values["corr_ratio_msd"] is None
    json.loads(json.dumps(values, allow_nan=False))


def test_an_undefined_correlation_ratio_is_quiet(cleaned_trial, synthetic):
    """A numeric column constant in the synthetic file has no correlation ratio: the family says
    so without warning on the operator's screen."""
    import warnings

    from trialsynth.evaluation.metrics.fidelity import correlation

    data, meta = cleaned_trial
    flat = synthetic.copy()
    flat["attendance_pct"] = 50.0
    real_view, synth_view, context = evaluation_view(data, flat, meta, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        values = correlation(real_view, synth_view, context)
    # left out, not counted as 0 or as NaN: the same as when the real column is constant too
    flat_real = data.copy()
    flat_real["attendance_pct"] = 50.0
    neither = correlation(*evaluation_view(flat_real, flat, meta, seed=1))
    assert math.isfinite(values["corr_ratio_msd"])
    assert values["corr_ratio_msd"] == pytest.approx(neither["corr_ratio_msd"])
