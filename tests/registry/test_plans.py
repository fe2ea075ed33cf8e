"""The registry turns a manifest entry and the archive's defaults into the engine's plan."""

import yaml

from registry.manifest import load_manifest
from registry.plans import build_plan, build_plans, entry_sha256, read_plans, write_plans
from tests.conftest import write_archive
from trialsynth.data.surrogate import TrialShape, make_trial
from trialsynth.streams import derive_seed


def test_a_plan_carries_the_entry_and_the_defaults(tmp_path):
    extra = {
        "t": {
            "method": "mst",
            "epsilon": 0.5,
            "bounds": {"post_test_1": [0, 200]},
            "tcap": {"key": ["pupil_gender"], "target": "pupil_fsm"},
        }
    }
    defaults = {"seed": 11, "small_threshold": 100, "epsilon_cap": 0.8, "trial_time_limit_s": 60}
    path = write_archive(tmp_path, {"t": make_trial(TrialShape(200, 15), 1)}, defaults=defaults, extra=extra)
    manifest = load_manifest(path)
    plan = build_plan(manifest, manifest.trial("t"))
    assert (plan.archive, plan.trial_id, plan.method, plan.epsilon) == ("test", "t", "mst", 0.5)
    assert plan.seed == derive_seed(11, "t") and plan.data_path == (tmp_path / "data" / "t.csv").resolve()
    assert plan.roles.outcomes == ("post_test_1", "post_test_2") and plan.roles.cluster == "school_id"
    assert plan.roles.tcap_key == ("pupil_gender",) and plan.roles.tcap_target == "pupil_fsm"
    assert dict(plan.bounds) == {"post_test_1": (0.0, 200.0)}
    assert plan.policy.small_threshold == 100 and plan.policy.epsilon_cap == 0.8
    assert plan.policy.large_threshold == 50_000  # a default the manifest left out
    assert plan.limits.time_s == 60 and plan.limits.isolated
    assert plan.entry_sha256 == entry_sha256(manifest.trial("t")) and len(plan.entry_sha256) == 64


def test_the_entry_hash_changes_with_the_entry_only(tmp_path):
    path = write_archive(
        tmp_path, {"a": make_trial(TrialShape(200, 15), 1), "b": make_trial(TrialShape(200, 15), 2)}
    )
    before = {p.trial_id: p.entry_sha256 for p in build_plans(load_manifest(path))}
    raw = yaml.safe_load(path.read_text())
    raw["trials"][0]["drop"] = ["pupil_id", "pupil_eal"]
    path.write_text(yaml.safe_dump(raw))
    after = {p.trial_id: p.entry_sha256 for p in build_plans(load_manifest(path))}
    assert after["a"] != before["a"] and after["b"] == before["b"]


def test_the_large_routes_method_and_the_dp_budgets_reach_the_plan(tmp_path):
    extra = {"t": {"school_covariates": ["school_context_1"], "method": "aim", "randomised": "school"}}
    defaults = {"large_method": "aim", "dp_time_budget": 90, "dp_model_size": 5}
    path = write_archive(tmp_path, {"t": make_trial(TrialShape(200, 15), 1)}, defaults=defaults, extra=extra)
    manifest = load_manifest(path)
    plan = build_plan(manifest, manifest.trial("t"))
    assert plan.policy.large_method == "aim" and plan.method == "aim"
    assert (plan.policy.dp_time_budget, plan.policy.dp_model_size) == (90, 5)
    assert plan.roles.school_covariates == ("school_context_1",) and plan.roles.randomised == "school"
    from trialsynth.synthesisers.aim import AimSynthesiser

    assert AimSynthesiser.params_from(plan)["randomised"] == "school"


def test_an_unknown_large_method_or_school_covariate_is_refused(tmp_path):
    import pytest

    from registry.validation import check_registry

    frames = {"t": make_trial(TrialShape(200, 15), 1)}
    from trialsynth.errors import RegistryError

    with pytest.raises(RegistryError, match="large_method"):
        load_manifest(write_archive(tmp_path / "a", frames, defaults={"large_method": "gan"}))
    with pytest.raises(RegistryError, match="randomised"):
        load_manifest(write_archive(tmp_path / "c", frames, extra={"t": {"randomised": "class"}}))
    path = write_archive(tmp_path / "b", frames, extra={"t": {"school_covariates": ["nowhere"]}})
    _, problems = check_registry(path, read_data=True)
    assert any("nowhere" in p for p in problems["t"]), problems


def test_plans_beyond_prefects_parameter_limit_travel_in_a_file(tmp_path):
    """A flow's parameters go to Prefect's server, which refuses more than 512 KB: the CLI hands
    its plans over in a file instead, read back as they were written."""
    import dataclasses

    from trialsynth.domain import ColumnDomain, PublicDomain

    path = write_archive(
        tmp_path, {"t": make_trial(TrialShape(200, 15), 1), "u": make_trial(TrialShape(300, 15), 2)}
    )
    manifest = load_manifest(path)
    schools = ColumnDomain("school_id", levels=tuple(f"URN{i:06d}" for i in range(60_000)), missing=False)
    plans = [dataclasses.replace(p, domain=PublicDomain((schools,))) for p in build_plans(manifest)]
    written = write_plans(plans, tmp_path / "runs" / "r.plans.json")
    assert written.stat().st_size > 524_288
    assert read_plans(written) == plans
    assert [p.name for p in written.parent.iterdir()] == ["r.plans.json"]  # no partial file left
