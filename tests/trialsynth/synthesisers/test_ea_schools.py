"""School labels dealt to a file from released outputs: the released ICC met, arms kept whole."""

import warnings
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from trialsynth.data.schools import icc
from trialsynth.meta import TrialMeta
from trialsynth.outputs import clear_outputs
from trialsynth.outputs.regression import encode
from trialsynth.synthesisers.ea_schools import school_labels


def _outputs_and_rows(by_school: bool, binary: bool = False, seed: int = 0):
    rng = np.random.default_rng(seed)
    school = np.repeat(np.arange(24), 50)
    arm_of_school = rng.permutation(np.arange(24) % 2)
    treatment = arm_of_school[school] if by_school else rng.integers(0, 2, len(school))
    latent = 0.3 * treatment + rng.normal(0, 0.6, 24)[school] + rng.normal(size=len(school))
    post = (latent > 0.2).astype(int) if binary else np.round(latent, 2)
    frame = pd.DataFrame({"treatment": treatment, "post": post, "school": school})
    meta = TrialMeta(
        kinds={"treatment": "binary", "post": "binary" if binary else "continuous", "school": "categorical"},
        treatment="treatment",
        outcomes=("post",),
        cluster="school",
    )
    outputs = clear_outputs(frame, meta)
    shuffled = frame.sample(frac=1, random_state=seed).reset_index(drop=True)  # rows without schools
    codes = np.column_stack([encode(shuffled[v.name], v) for v in outputs.variables])
    values = shuffled[[v.name for v in outputs.variables if v.kind == "continuous"]].to_numpy(dtype=float)
    return frame, shuffled, outputs, codes, values


@pytest.mark.parametrize(("by_school", "binary"), [(False, False), (True, False), (False, True)])
def test_the_dealt_file_meets_the_released_icc(by_school, binary):
    real, rows, outputs, codes, values = _outputs_and_rows(by_school, binary)
    assert outputs.school_icc > 0.1
    rows["school"] = school_labels(outputs, codes, values, np.random.default_rng(1))
    assert abs(icc(rows, "post", "school") - outputs.school_icc) < 0.01
    assert rows["school"].nunique() == len(outputs.cluster_sizes)
    if by_school:  # each school's pupils in one arm, as the real schools were
        assert rows.groupby("school")["treatment"].nunique().max() == 1


@pytest.mark.parametrize("outcome", ["post", None])
def test_without_a_released_icc_schools_are_dealt_at_random(outcome):
    _, rows, outputs, codes, values = _outputs_and_rows(False)
    unreleased = replace(outputs, school_icc=None, icc_outcome=outcome)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no outcome to rank by: no empty-slice warnings either
        rows["school"] = school_labels(unreleased, codes, values, np.random.default_rng(1))
    assert abs(icc(rows, "post", "school")) < 0.03  # the real file's ~0.25 is not kept
