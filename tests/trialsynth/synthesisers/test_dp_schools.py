import numpy as np
import pandas as pd
import pytest

from trialsynth.synthesisers.dp_schools import constant_within, form_schools


@pytest.fixture()
def drawn():
    """Rows as a marginal model draws them: arm, two school-level covariates varying from pupil
    to pupil (the model does not know they are school-level), and an outcome that depends on one."""
    rng = np.random.default_rng(0)
    n = 6000
    context = rng.normal(0, 1, n)
    return pd.DataFrame(
        {
            "arm": rng.choice(["control", "treated"], n, p=[0.4, 0.6]),
            "context": np.round(context, 2),
            "region": rng.choice(["north", "south", "west"], n),
            "score": np.round(50 + 10 * context + rng.normal(0, 5, n), 1),
        }
    )


def test_schools_of_a_school_randomised_trial_hold_one_arm_in_proportion(drawn):
    schools = form_schools(
        drawn, 100, covariates=("context", "region"), arm="arm", rng=np.random.default_rng(1)
    )
    assert set(np.unique(schools)) == set(range(100))
    arms = drawn.groupby(schools)["arm"].agg(["nunique", "first"])
    assert (arms["nunique"] == 1).all()
    assert (arms["first"] == "treated").sum() == 60  # the arms' schools as their pupils: 60%


def test_without_the_design_schools_mix_the_arms(drawn):
    """The known-bad reading: a pupil-randomised trial's schools must not be split by arm."""
    schools = form_schools(drawn, 100, covariates=("context",), arm=None, rng=np.random.default_rng(1))
    assert (drawn.groupby(schools)["arm"].nunique() == 2).mean() > 0.9


def test_a_school_is_alike_in_its_covariates_and_holds_one_value_of_each(drawn):
    schools = form_schools(
        drawn, 100, covariates=("context", "region"), arm=None, rng=np.random.default_rng(2)
    )
    spread = drawn.groupby(schools)["context"].std().median()
    assert spread < 0.5 * drawn["context"].std()  # pupils alike, not a random mixture
    formed = constant_within(drawn, schools, ("context", "region"))
    assert (formed.groupby(schools)[["context", "region"]].nunique() == 1).all().all()
    assert formed["context"].isin(drawn["context"]).all()  # a value a pupil was drawn with
    pd.testing.assert_series_equal(formed["score"], drawn["score"])  # the pupils' own values untouched
    assert formed.dtypes.equals(drawn.dtypes)


def test_the_outcome_varies_between_schools_as_the_covariate_makes_it(drawn):
    """What the model learnt of the covariate's relation to the outcome becomes between-school
    variance: formed by the covariate, school means spread; at random, they do not."""
    by_covariate = form_schools(drawn, 100, covariates=("context",), arm=None, rng=np.random.default_rng(3))
    at_random = form_schools(drawn, 100, covariates=(), arm=None, rng=np.random.default_rng(3))
    spread = {
        name: drawn.groupby(s)["score"].mean().std()
        for name, s in (("cov", by_covariate), ("rnd", at_random))
    }
    assert spread["cov"] > 5 * spread["rnd"]


def test_sizes_vary_and_every_row_has_a_school(drawn):
    schools = form_schools(drawn, 100, covariates=("context",), arm="arm", rng=np.random.default_rng(4))
    sizes = np.bincount(schools, minlength=100)
    assert sizes.sum() == len(drawn) and sizes.min() > 0 and sizes.std() > 3


def test_a_bad_school_count_is_refused(drawn):
    with pytest.raises(ValueError, match="'n_schools' parameter"):
        form_schools(drawn, 0, covariates=(), arm=None, rng=np.random.default_rng(0))
