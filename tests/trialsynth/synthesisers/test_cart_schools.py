import dataclasses

import numpy as np
import pandas as pd
import pytest

from tests.conftest import clean_demo
from trialsynth.data.cleaning import clean
from trialsynth.data.surrogate import TrialShape, make_trial
from trialsynth.evaluation.metrics.schools import school_disclosure
from trialsynth.evaluation.metrics.trial_analysis import icc
from trialsynth.missing import as_label
from trialsynth.plan import Roles
from trialsynth.synthesisers.cart import CartSynthesiser
from trialsynth.synthesisers.cart_clustering import MEAN, deal, deviations, shrunken_means, with_school_means


def _clustered(schools: int, pupils: int, spread: float, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    school = np.repeat(np.arange(schools), pupils)
    return pd.DataFrame(
        {"y": rng.normal(0, spread, schools)[school] + rng.normal(size=len(school)), "s": school}
    )


@pytest.mark.parametrize("spread, expected", [(0.0, 0.0), (1.0, 0.5)])
def test_shrunken_means_estimate_the_icc_and_shrink_unreliable_schools(spread, expected):
    frame = _clustered(200, 30, spread)
    means, estimated = shrunken_means(frame["y"], frame["s"])
    assert estimated == pytest.approx(expected, abs=0.06)
    raw = frame.groupby("s")["y"].mean()
    assert means.std() <= raw.std()  # shrunk towards the grand mean, never spread further
    if spread == 0.0:
        assert means.std() < 0.2 * raw.std()


def test_outcomes_are_drawn_as_deviations_and_given_back_their_new_schools_mean():
    frame = _clustered(20, 10, 1.0).assign(y=lambda f: f["y"].round(2))
    rows = pd.DataFrame({f"{MEAN}y": frame.groupby("s")["y"].transform("mean")})
    moved, kept = deviations(frame, rows, frame["s"])
    assert moved.groupby("s")["y"].mean().abs().max() < 1e-9  # the school's effect taken out
    low, high, places = kept["y"]
    assert (low, high, places) == (frame["y"].min(), frame["y"].max(), 2)
    means = pd.DataFrame({f"{MEAN}y": np.full(len(frame), 100.0)})
    back = with_school_means(moved.copy(), means, kept)
    assert back["y"].max() == high  # within the real range, at the real decimals
    assert (back["y"] == back["y"].round(2)).all()
    unmoved = deviations(frame.assign(y=frame["s"] % 2), rows, frame["s"])[1]
    assert unmoved == {}  # a binary outcome keeps its values


def test_deal_gives_the_real_counts_exactly_at_their_total_and_shares_otherwise():
    rng = np.random.default_rng(0)
    dealt = deal(["a", "b", "c"], np.array([50.0, 30.0, 20.0]), 100, rng)
    assert pd.Series(dealt).value_counts().to_dict() == {"a": 50, "b": 30, "c": 20}
    halved = pd.Series(deal(["a", "b"], np.array([3.0, 1.0]), 41, rng)).value_counts()
    assert halved.sum() == 41 and abs(halved["a"] - 30.75) < 1


@pytest.fixture(scope="module")
def clustered_trial():
    return clean_demo(make_trial(TrialShape(4000, 17), seed=5))


@pytest.fixture(scope="module")
def pupil_randomised_trial():
    return clean_demo(make_trial(TrialShape(4000, 17, cluster_randomised=False), seed=6))


def test_new_schools_point_at_no_real_school_and_keep_the_schools_per_arm(clustered_trial):
    data, meta = clustered_trial
    model = CartSynthesiser(random_state=1).fit(data, meta)
    synthetic = model.sample(len(data), np.random.default_rng(2))
    assert model.fitted_record()["design"]["arm"] == "schools"
    assert school_disclosure(data, synthetic, meta)["school_reidentification"] == 0.0
    assert not set(synthetic[meta.cluster]) & set(data[meta.cluster])  # labels new, never real ids
    per_arm = data.groupby(meta.treatment)[meta.cluster].nunique()
    assert synthetic.groupby(meta.treatment)[meta.cluster].nunique().to_dict() == per_arm.to_dict()
    assert synthetic.groupby(meta.cluster)[meta.treatment].nunique().max() == 1  # one arm a school


def test_a_copy_of_the_real_schools_is_what_the_school_measure_catches(clustered_trial):
    data, meta = clustered_trial  # the known-bad file the new schools are checked against:
    # every school unique on its profile (within the measure's window) is pointed at
    assert school_disclosure(data, data, meta)["school_reidentification"] > 0.3


def test_the_clustering_of_the_primary_outcome_is_kept(clustered_trial):
    data, meta = clustered_trial
    real = icc(data, meta.primary_outcome, meta.cluster)
    drawn = [
        icc(
            CartSynthesiser(random_state=s).fit(data, meta).sample(len(data), np.random.default_rng(s)),
            meta.primary_outcome,
            meta.cluster,
        )
        for s in range(3)
    ]
    assert real > 0.05 and abs(float(np.median(drawn)) - real) < 0.04


def test_pupil_randomised_arms_have_the_real_sizes_and_a_redraw_keeps_school_and_arm(pupil_randomised_trial):
    data, meta = pupil_randomised_trial
    model = CartSynthesiser(random_state=3).fit(data, meta)
    assert model.fitted_record()["design"]["arm"] == "pupils, dealt at random"
    assert model.fitted_record()["design"]["fitted_per_arm"] == list(meta.outcomes)
    synthetic = model.sample(len(data), np.random.default_rng(4))
    assert synthetic[meta.treatment].value_counts().to_dict() == dict(meta.arms)
    rows = synthetic.iloc[:40]
    again = model.redraw_within(rows, np.random.default_rng(5))
    assert again[meta.cluster].tolist() == rows[meta.cluster].tolist()
    assert again[meta.treatment].tolist() == rows[meta.treatment].tolist()
    assert not again[meta.primary_outcome].equals(rows[meta.primary_outcome])


def test_means_shrink_within_the_arm_so_a_school_randomised_effect_is_not_shrunk():
    frame = _clustered(100, 5, 0.3, seed=2)  # small schools: strong shrinkage
    arm = (frame["s"] % 2).astype(str)
    frame["y"] = frame["y"] + 2.0 * (arm == "1")
    pooled, _ = shrunken_means(frame["y"], frame["s"])
    within, _ = shrunken_means(frame["y"], frame["s"], arm)
    school_arm = arm.groupby(frame["s"]).first()
    raw = frame.groupby("s")["y"].mean()

    def gap(means):
        return means[school_arm == "1"].mean() - means[school_arm == "0"].mean()

    assert gap(within) == pytest.approx(gap(raw), abs=0.01)
    assert gap(pooled) < 0.9 * gap(raw)


def test_every_real_schools_means_are_dealt_once_in_their_arm(clustered_trial):
    data, meta = clustered_trial
    model = CartSynthesiser(random_state=4).fit(data, meta)
    model.sample(len(data), np.random.default_rng(5))
    design = model.design_
    means = [c for c in design.real_means_.columns if c.startswith("__school_mean__:")]
    assert means and means[0].endswith(meta.primary_outcome)
    for label in design.real_means_[meta.treatment].unique():
        for name in means:  # measurement by measurement
            real = design.real_means_.loc[design.real_means_[meta.treatment] == label, name]
            new = design.schools_.loc[design.schools_[meta.treatment].map(as_label) == as_label(label), name]
            assert sorted(new.round(9)) == sorted(real.round(9))


def test_a_schools_context_keeps_its_association_with_its_pupils_measurement():
    # the context is the school's mean SES (as Hsb82's meanses); the outcome's school effect is
    # unrelated to it: dealt by the outcome's rank, a school's SES mean lost its context
    rng = np.random.default_rng(3)
    schools, pupils = 80, 40
    school = np.repeat(np.arange(schools), pupils)
    ses = rng.normal(0, 0.7, schools)[school] + rng.normal(size=len(school))
    frame = pd.DataFrame(
        {
            "school": school + 1,
            "sector": (np.arange(schools) % 2)[school],
            "ses": ses.round(3),
            "meanses": pd.Series(ses).groupby(school).transform("mean").round(3),
            "score": (rng.normal(0, 1, schools)[school] + 0.3 * ses + rng.normal(size=len(school))).round(2),
        }
    )
    data, meta = clean(
        frame, Roles(treatment="sector", outcomes=("score",), cluster="school"), trial_id="ctx"
    )
    real = data["ses"].corr(data["meanses"])
    drawn = [
        CartSynthesiser(random_state=s).fit(data, meta).sample(len(data), np.random.default_rng(s))
        for s in range(3)
    ]
    kept = float(np.median([d["ses"].astype(float).corr(d["meanses"].astype(float)) for d in drawn]))
    assert real > 0.5 and abs(kept - real) < 0.2  # (dealt by the outcome's rank: 0.48 apart)


def test_pupils_without_a_school_stay_without_one_and_unrandomised(pupil_randomised_trial):
    data, meta = pupil_randomised_trial
    late = data.sample(frac=0.3, random_state=0).index  # joined after randomisation: no school, no arm
    data = data.assign(**{meta.cluster: data[meta.cluster].astype(object)})
    data.loc[late, [meta.cluster, meta.treatment]] = np.nan
    meta = dataclasses.replace(
        meta, arms=tuple(data[meta.treatment].value_counts().items()), unrandomised=len(late)
    )
    model = CartSynthesiser(random_state=2).fit(data, meta)
    assert model.design_.school_count_ == data[meta.cluster].nunique()  # the blank is no school
    synthetic = model.sample(len(data), np.random.default_rng(3))
    blank = synthetic[meta.cluster].isna()
    assert blank.sum() == len(late)
    assert synthetic.loc[blank, meta.treatment].isna().all()  # the unrandomised stay without a school
    assert synthetic.loc[~blank, meta.treatment].notna().all()
    assert synthetic[meta.cluster].value_counts().max() < 3 * data[meta.cluster].value_counts().max()
    rows = pd.concat([synthetic.loc[blank].head(5), synthetic.loc[~blank].head(5)])
    again = model.redraw_within(rows, np.random.default_rng(4))  # the gate's re-draw: school kept
    assert again[meta.cluster].isna().tolist() == [True] * 5 + [False] * 5


def test_an_arm_shared_unevenly_across_waves_is_dealt_within_the_waves():
    rng = np.random.default_rng(7)
    n = 6000
    wave = rng.integers(0, 3, n)
    arm = (rng.random(n) < np.array([0.2, 0.5, 0.8])[wave]).astype(int)  # later waves: more treated
    school = rng.integers(0, 60, n)
    frame = pd.DataFrame(
        {
            "school": school,
            "wave": wave.astype(str),
            "sex": rng.choice(["F", "M"], n),
            "treatment": arm,
            "post": 10 * wave + 2 * arm + rng.normal(0, 0.5, 60)[school] + rng.normal(size=n),
        }
    )
    data, meta = clean(
        frame, Roles.of(treatment="treatment", outcomes=["post"], cluster="school"), trial_id="t"
    )
    model = CartSynthesiser(random_state=1).fit(data, meta)
    assert model.design_.dealer_.names == ("wave",)  # not sex: independent of the arm
    synthetic = model.sample(n, np.random.default_rng(2))
    shares = synthetic.groupby("wave")["treatment"].mean()
    assert shares.tolist() == pytest.approx([0.2, 0.5, 0.8], abs=0.05)
    real_gap = data.groupby("treatment")["post"].mean().diff().iloc[-1]
    synth_gap = synthetic.groupby("treatment")["post"].mean().diff().iloc[-1]
    assert synth_gap == pytest.approx(real_gap, abs=1.0)  # the unadjusted effect, composition kept


def test_the_columns_the_arm_depends_on_most_are_chosen_on_a_large_file():
    """Every p-value underflows to 0 on 20,000 rows: the strength decides, not the position."""
    from trialsynth.synthesisers.cart_arms import _associated

    rng = np.random.default_rng(0)
    arm = rng.integers(0, 2, 20000)

    def agreeing(flip):  # equal to the arm but for a share ``flip`` of rows
        return np.where(rng.random(len(arm)) < flip, 1 - arm, arm).astype(float)

    columns = {0: agreeing(0.30), 1: agreeing(0.25), 2: agreeing(0.20), 3: agreeing(0.02)}
    assert _associated(pd.Series(arm.astype(float)), columns, np.zeros(len(arm), dtype=bool))[0] == 3


def test_a_randomised_arm_is_dealt_as_one_cell_with_the_real_sizes(pupil_randomised_trial):
    data, meta = pupil_randomised_trial
    model = CartSynthesiser(random_state=3).fit(data, meta)
    assert model.design_.dealer_.names == ()
