"""The risk ladder's private rung: a public domain read from the plan alone."""

import dataclasses

from trialsynth.disclosure.private_remedy import private_rung, public_domain, remedy_plan
from trialsynth.domain import ColumnDomain, PublicDomain
from trialsynth.plan import Policy, Roles, TrialPlan


def _plan(**roles) -> TrialPlan:
    fields = {"treatment": "arm", "outcomes": ("score",), "categorical": ("band",), **roles}
    return TrialPlan(
        archive="a",
        trial_id="t",
        roles=Roles.of(**fields),
        seed=1,
        data_path="t.csv",
        bounds={"score": (0, 100)},
    )


def test_the_domain_takes_kinds_and_bounds_from_the_plan_and_leaves_the_rest_to_dp():
    plan = _plan(drop=("pupil_id",), cluster="school", continuous=("age",))
    domain = public_domain(plan, ["pupil_id", "school", "arm", "band", "score", "age", "sex"])
    assert domain.names == ["school", "arm", "band", "score", "age", "sex"]  # the drop left out
    kinds = domain.kinds()
    assert kinds["score"] == kinds["age"] == "continuous"
    assert {kinds[c] for c in ("school", "arm", "band", "sex")} == {"categorical"}
    assert domain.column("score").bounds == (0.0, 100.0) and domain.column("age").bounds is None
    assert domain.estimate and all(c.levels is None and c.missing is None for c in domain.columns)
    assert domain.problems(required=["arm", "score", "school"]) == []  # estimable: nothing refused


def test_no_rung_where_the_policy_turns_it_off_and_a_long_files_rung_bounds_its_pupils():
    assert private_rung(_plan()).method == "aim"  # the archive's large method (the default)
    assert private_rung(dataclasses.replace(_plan(), policy=Policy(private_remedy=False))) is None
    long = private_rung(_plan(unit="pupil_id"))
    assert long is not None and long.name.endswith("each pupil's rows bounded to 4")
    domain = public_domain(_plan(unit="pupil_id"), ["pupil_id", "arm", "band", "score"])
    assert domain.names == ["arm", "band", "score"]  # the pupil id: fresh ids, never synthesised


def test_a_declared_domain_is_kept_with_estimation_on():
    declared = PublicDomain((ColumnDomain("arm", levels=(0, 1)), ColumnDomain("score", bounds=(0, 100))))
    plan = dataclasses.replace(_plan(), domain=declared)
    rung = private_rung(plan)
    assert rung is not None
    ran = remedy_plan(plan, ["arm", "score"], rung)
    assert ran.domain.columns == declared.columns and ran.domain.estimate and ran.method == "aim"


def test_a_long_files_private_rung_holds_pupils_out_by_a_secret_draw_and_bounds_the_rest():
    """Held out by the stored seed, a pupil's side follows the order of the ids: replacing one
    pupil would move others across, and the training sets of neighbours would differ in many."""
    import numpy as np
    import pandas as pd

    from trialsynth.data.cleaning import Cleaned, clean
    from trialsynth.disclosure.private_remedy import private_training
    from trialsynth.evaluation.holdout import hold_out

    units = np.repeat(np.arange(100), 3)
    frame = pd.DataFrame({"arm": units % 2, "band": "a", "score": np.arange(300) % 50})
    data, meta = clean(frame, Roles.of(treatment="arm", outcomes=["score"]), trial_id="t")
    cleaned = Cleaned(data, meta, "hash", (), units)
    stored = hold_out(300, 0.2, np.random.default_rng(1), seen_by_synthesiser=False, units=units)
    plan = _plan(unit="pupil_id")
    draws = [private_training(cleaned, stored, plan) for _ in range(2)]
    for held, training in draws:
        assert len(np.unique(units[held.mask])) == 20 and len(training) == 80 * 4  # 4 rows a pupil
    assert not np.array_equal(draws[0][0].mask, draws[1][0].mask)  # never the stored draw again
    assert private_training(cleaned, stored, _plan())[0] is stored  # a file of pupils: its own
