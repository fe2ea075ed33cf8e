import numpy as np
import pytest

from tests.conftest import clean_demo
from trialsynth.data.surrogate import TrialShape, make_trial
from trialsynth.evaluation.metrics import evaluation_view
from trialsynth.evaluation.metrics.fidelity import SCHOOL_LEVEL_MIN, propensity


@pytest.fixture(scope="module")
def trial():
    return clean_demo(make_trial(TrialShape(3000, 17), seed=8))


def _propensity(real, synthetic, meta):
    return propensity(*evaluation_view(real, synthetic, meta, seed=2))


def test_a_trial_of_schools_is_judged_at_each_level_and_a_copy_is_indistinguishable(trial):
    data, meta = trial
    assert data[meta.cluster].nunique() >= SCHOOL_LEVEL_MIN
    copy = _propensity(data, data, meta)
    assert copy["pmse_ratio"] == 0.0 and copy["pmse_ratio_schools"] == 0.0


def test_schools_of_another_context_are_seen_at_the_schools_level(trial):
    data, meta = trial  # known-bad: pupils kept, every school's context moved by two deviations
    shifted = data["school_context_1"] + 2 * data.groupby(meta.cluster)["school_context_1"].first().std()
    ratios = _propensity(data, data.assign(school_context_1=shifted), meta)
    # 50 schools: the measure tops out near 0.25 / its null (about 4 here); new CART schools read 1.5
    assert ratios["pmse_ratio_schools"] > 2.5 and ratios["pmse_ratio"] == ratios["pmse_ratio_schools"]
    assert ratios["pmse_ratio_pupils"] < 1.5  # the pupil-level columns are the real ones


def test_pupils_with_a_noise_column_are_seen_at_the_pupils_level(trial):
    data, meta = trial
    low, high = data["pre_test_1"].min(), data["pre_test_1"].max()
    noise = np.random.default_rng(1).uniform(low, high, len(data)).round(1)
    assert _propensity(data, data.assign(pre_test_1=noise), meta)["pmse_ratio_pupils"] > 3


def test_without_enough_schools_the_rows_alone_are_compared(trial):
    data, meta = trial
    few = data.assign(**{meta.cluster: data[meta.cluster].astype("category").cat.codes % 4})
    ratios = _propensity(few, few.sample(frac=1.0, random_state=1).reset_index(drop=True), meta)
    assert set(ratios) == {"pmse_ratio", "pmse_standardised"}
    assert ratios["pmse_ratio"] == pytest.approx(1.0, abs=1.5)


def test_pupils_without_a_school_are_one_school_of_their_own(trial):
    data, meta = trial  # real files leave some pupils' school blank (Project STAR, Thornton)
    blank = data.assign(**{meta.cluster: data[meta.cluster].where(data.index % 7 != 0)})
    ratios = _propensity(blank, blank, meta)
    assert ratios["pmse_ratio"] == 0.0 and ratios["pmse_ratio_schools"] == 0.0


def test_values_beyond_the_released_precision_are_not_a_difference(trial):
    """A real score held to 16 digits and released at 6 places is the same value to an analysis;
    the propensity model must not separate the two files on the digits alone. Known-bad: the same
    column released at one place fewer than the real one holds is still seen."""
    data, meta = trial
    rng = np.random.default_rng(3)
    lattice = rng.choice([-1.2040846860933, -0.1188116175662, 0.4752937495294, 1.3010795133602], len(data))
    real = data.assign(pre_test_1=lattice)
    released = real.assign(pre_test_1=real["pre_test_1"].round(6))
    assert _propensity(real, released, meta)["pmse_ratio_pupils"] == 0.0
    coarse = real.assign(pre_test_1=real["pre_test_1"].round(1))
    assert (
        _propensity(real.assign(pre_test_1=real["pre_test_1"].round(2)), coarse, meta)["pmse_ratio_pupils"]
        > 3
    )
    # and a file with more places than the real column holds (whole numbers released with decimals)
    whole = real.assign(pre_test_1=rng.integers(0, 5, len(real)).astype(float))
    jittered = whole.assign(pre_test_1=(whole["pre_test_1"] + rng.uniform(-0.4, 0.4, len(real))).round(2))
    assert _propensity(whole, jittered, meta)["pmse_ratio_pupils"] > 3
