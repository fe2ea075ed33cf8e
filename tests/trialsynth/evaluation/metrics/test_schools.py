"""A synthetic school whose school-level values fit one real school points at it."""

import numpy as np
import pandas as pd

from trialsynth.data.cleaning import clean
from trialsynth.evaluation.metrics.schools import school_disclosure, school_level_columns
from trialsynth.plan import Roles


def _schools(n_schools=30, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    sizes = rng.integers(15, 40, n_schools)
    school = np.repeat(np.arange(n_schools), sizes)
    context = np.round(rng.uniform(0, 60, n_schools), 1)  # e.g. the school's FSM share
    return pd.DataFrame(
        {
            "school_id": school,
            "treatment": rng.integers(0, 2, n_schools)[school],
            "school_fsm": context[school],
            "pre_test": rng.normal(50, 10, len(school)).round(1),
            "post_test": rng.normal(50, 10, len(school)).round(1),
        }
    )


def _measure(real_frame, synth_frame):
    both, meta = clean(
        pd.concat([real_frame, synth_frame], ignore_index=True),
        Roles.of(treatment="treatment", outcomes=["post_test"], cluster="school_id"),
        trial_id="t",
    )
    real, synth = both.iloc[: len(real_frame)], both.iloc[len(real_frame) :]
    return school_level_columns(real, meta), school_disclosure(real, synth, meta)


def test_a_planted_re_identifiable_school_is_caught():
    real = _schools()
    # the synthetic file: schools whose context is shared by many (pooled into 3 values) ...
    synth = _schools(seed=1)
    synth["school_fsm"] = np.where(
        synth["school_fsm"] < 20, 10.0, np.where(synth["school_fsm"] < 40, 30.0, 50.0)
    )
    synth["school_id"] = synth["school_id"] + 1000
    columns, clean_measure = _measure(real, synth)
    assert "school_fsm" in columns and "treatment" in columns and "pre_test" not in columns
    # ... then one school carrying a real school's exact context and arm
    planted = real[real["school_id"] == 7].assign(school_id=5000)
    _, caught = _measure(real, pd.concat([synth, planted], ignore_index=True))
    assert caught["school_reidentification"] > clean_measure["school_reidentification"]
    assert caught["school_reidentification"] >= 1 / (synth["school_id"].nunique() + 1)


def test_a_copy_of_every_school_is_fully_re_identifiable():
    real = _schools()
    _, measure = _measure(real, real.assign(school_id=real["school_id"] + 1000))
    assert measure["school_reidentification"] >= 0.85  # a few real schools share a context
    assert measure["school_size_correlation"] > 0.99


def test_pupils_without_a_school_are_no_school_on_either_side():
    real = _schools()
    late = real.sample(150, random_state=0).index
    real.loc[late, ["school_id", "school_fsm"]] = np.nan  # joined later: no school, no context
    synth = _schools(seed=1)
    synth["school_fsm"] = np.where(synth["school_fsm"] < 30, 15.0, 45.0)  # pooled contexts
    synth["school_id"] = synth["school_id"] + 1000
    _, schools_only = _measure(real, synth)
    # the synthetic file's own pupils without a school, as blank as the real ones: they fit no
    # real school (the real blank group is none, though unique on its empty context)
    _, with_blank = _measure(real, pd.concat([synth, real.loc[late]], ignore_index=True))
    assert with_blank["school_reidentification"] <= schools_only["school_reidentification"]
    _, copied = _measure(real, real.copy())
    assert copied["school_reidentification"] > 0.5  # a copy still points at the real schools


def test_a_copy_with_its_school_ids_blanked_is_still_caught():
    """Rows without an id are grouped by their school-level profile, as an intruder would."""
    real = _schools()
    _, copied = _measure(real, real.assign(school_id=real["school_id"] + 1000))
    _, blanked = _measure(real, real.assign(school_id=np.nan))
    assert blanked["school_reidentification"] == copied["school_reidentification"] >= 0.85
