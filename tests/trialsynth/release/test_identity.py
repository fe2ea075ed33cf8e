import dataclasses
from pathlib import Path

from trialsynth.domain import ColumnDomain, PublicDomain
from trialsynth.plan import Limits, Policy, Roles, TrialPlan
from trialsynth.release.identity import identity_key, release_identity


def _plan(**changes) -> TrialPlan:
    plan = TrialPlan(
        archive="a",
        trial_id="t",
        roles=Roles(treatment="arm", outcomes=("post",)),
        seed=1,
        data_path=Path("/data/t.csv"),
        domain=PublicDomain((ColumnDomain("arm", levels=(0, 1)),)),
    )
    return dataclasses.replace(plan, **changes)


def _key(plan: TrialPlan, data: str = "d1") -> str:
    return identity_key(release_identity(plan, data, None))


def test_everything_that_makes_the_file_changes_the_identity():
    base = _key(_plan())
    changed = [
        _key(_plan(), data="d2"),
        _key(_plan(roles=Roles(treatment="arm", outcomes=("post", "pre")))),
        _key(_plan(roles=Roles(treatment="arm", outcomes=("post",), drop=("x",)))),
        _key(_plan(epsilon=0.5)),
        _key(_plan(method="mst")),
        _key(_plan(seed=2)),
        _key(_plan(policy=Policy(epsilon_cap=2.0))),
        _key(_plan(domain=PublicDomain((ColumnDomain("arm", levels=(0, 1, 2)),)))),
        _key(_plan(bounds={"post": (0, 100)})),
    ]
    assert base not in changed and len(set(changed)) == len(changed)


def test_where_the_files_are_and_the_limits_do_not_change_it():
    assert _key(_plan()) == _key(_plan(data_path=Path("/moved/t.csv"), limits=Limits(time_s=60)))


def test_the_versions_of_what_makes_the_file_are_part_of_it(monkeypatch):
    from trialsynth.release import identity
    from trialsynth.synthesisers import METHOD_VERSIONS

    base = _key(_plan())
    assert identity_key(release_identity(_plan(), "d1", None, {"pipeline": "p-2"})) != base
    packages = {**identity.package_versions(), "scikit-learn": "0.1"}
    monkeypatch.setattr(identity, "package_versions", lambda: packages)
    assert _key(_plan()) != base
    monkeypatch.undo()
    for name in ("cart", "ea", "aim"):  # auto: every route's method, and the ladder's private rung
        with monkeypatch.context() as patch:
            patch.setitem(METHOD_VERSIONS, name, "bumped")
            assert _key(_plan()) != base, name


def test_a_commit_or_a_package_that_makes_no_file_does_not_change_it(monkeypatch):
    """A report template, a CLI message, Prefect or SQLAlchemy: nothing to re-synthesise."""
    from trialsynth import versions
    from trialsynth.release import identity
    from trialsynth.synthesisers import METHOD_VERSIONS

    base = _key(_plan())
    monkeypatch.setattr(versions, "code_version", lambda: "9.9.9+other")
    packages = {**identity.package_versions(), "prefect": "9.9", "sqlalchemy": "9.9", "synthgauge": "9"}
    monkeypatch.setattr(identity, "package_versions", lambda: packages)
    assert _key(_plan()) == base
    gan = _key(_plan(method="gan"))
    monkeypatch.setitem(METHOD_VERSIONS, "gan", "bumped")  # a method this plan never uses
    assert _key(_plan()) == base and _key(_plan(method="gan")) != gan
    named = _plan(method="mst", policy=Policy(private_remedy=False))
    assert set(identity.methods_of(named)) == {"mst"}
