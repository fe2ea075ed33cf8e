import json
from pathlib import Path

import pytest
import yaml

from cli.main import main
from registry import load_manifest, validate_registry
from registry.demo import TrialShape, make_trial
from tests.conftest import plan_of, write_archive
from trialsynth.errors import RegistryError


@pytest.fixture()
def archive(tmp_path: Path) -> Path:
    return write_archive(tmp_path, {"alpha": make_trial(TrialShape(200, 15), 1)})


def _rewrite(path: Path, change) -> Path:
    raw = yaml.safe_load(path.read_text())
    change(raw)
    path.write_text(yaml.safe_dump(raw))
    return path


def test_valid_manifest_loads(archive):
    manifest = validate_registry(archive)
    assert manifest.archive == "test"
    assert manifest.defaults.small_threshold == 300
    assert manifest.defaults.large_threshold == 50000  # documented default
    assert manifest.trial("alpha").outcomes == ["post_test_1", "post_test_2"]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda r: r["trials"][0].update(colour="red"), "trial 'alpha': key 'colour': unknown key"),
        (lambda r: r["trials"][0].update(method="magic"), "trial 'alpha': key 'method'"),
        (lambda r: r["trials"][0].update(id="Bad_ID"), "key 'id'"),
        (lambda r: r["trials"][0].pop("treatment"), "trial 'alpha': key 'treatment': Field required"),
        (lambda r: r["defaults"].update(small_policy="maybe"), "manifest: key 'defaults.small_policy'"),
        (lambda r: r.update(extra=1), "manifest: key 'extra': unknown key"),
        (lambda r: r["trials"].append(dict(r["trials"][0])), "trial 'alpha': key 'id': duplicate"),
        (lambda r: r["trials"][0].pop("data"), "give data (the trial's file) or outputs"),
        (
            lambda r: r["trials"][0].update(data=None, outputs=["o.json"], method="cart"),
            "method 'cart' needs the trial's data",
        ),
        (lambda r: r["trials"][0].update(outputs=["o.csv"]), "released outputs must be .json files"),
    ],
)
def test_schema_problems_name_trial_and_key(archive, change, expected):
    with pytest.raises(RegistryError) as info:
        load_manifest(_rewrite(archive, change))
    assert any(expected in p for p in info.value.problems), info.value.problems


def test_every_data_problem_is_listed(archive):
    def change(raw):
        raw["trials"][0]["outcomes"] = ["post_test_1", "no_such_outcome"]
        raw["trials"][0]["cluster"] = "no_such_school"
        second = dict(raw["trials"][0], id="beta", data="data/missing.csv")
        raw["trials"].append(second)

    with pytest.raises(RegistryError) as info:
        validate_registry(_rewrite(archive, change))
    problems = info.value.problems
    assert "trial 'alpha': key 'outcomes': column 'no_such_outcome' is not in alpha.csv" in problems
    assert "trial 'alpha': key 'cluster': column 'no_such_school' is not in alpha.csv" in problems
    assert any(p.startswith("trial 'beta': key 'data': file not found") for p in problems)


def test_cli_validate_exit_codes(archive, capsys):
    assert main(["validate", str(archive)]) == 0
    _rewrite(archive, lambda r: r["trials"][0].update(treatment="arm"))
    assert main(["validate", str(archive)]) == 2
    assert "trial 'alpha': key 'treatment': column 'arm' is not in alpha.csv" in capsys.readouterr().err


def test_missing_manifest_file(tmp_path):
    with pytest.raises(RegistryError, match="file not found"):
        load_manifest(tmp_path / "nope.yaml")


def test_released_outputs_are_checked_like_data(archive, capsys):
    from trialsynth.outputs.trial import clear_trial

    assert main(["clear", str(archive), "--trial", "alpha", "--out", str(archive.parent / "alpha.json")]) == 0
    assert "2 models, 200 rows" in capsys.readouterr().out
    engine = clear_trial(plan_of(archive, "alpha"))  # the same outputs through the engine
    written = json.loads((archive.parent / "alpha.json").read_text())
    assert json.loads(json.dumps(engine.to_dict())) == written

    def outputs_only(raw):
        entry = raw["trials"][0]
        raw["trials"].append(
            {"id": "owner", "outputs": ["alpha.json"], "treatment": "treatment", "outcomes": ["post_test_1"]}
        )
        raw["trials"].append(dict(entry, id="gone", outputs=["missing.json"]))
        raw["trials"].append(
            {"id": "wrong", "outputs": ["alpha.json"], "treatment": "treatment", "outcomes": ["no_such"]}
        )

    with pytest.raises(RegistryError) as info:
        validate_registry(_rewrite(archive, outputs_only))
    problems = info.value.problems
    assert not any(p.startswith("trial 'owner'") for p in problems), problems
    assert any(p.startswith("trial 'gone': key 'outputs': file not found") for p in problems)
    assert "trial 'wrong': key 'outcomes': column 'no_such' is not in the released outputs" in problems


def test_trials_are_ordered_largest_input_first(tmp_path):
    sizes = [("a", 100), ("b", 900), ("c", 400)]
    trials = {name: make_trial(TrialShape(rows, 15), 1) for name, rows in sizes}
    manifest = load_manifest(write_archive(tmp_path, trials))
    assert manifest.largest_first(["a", "b", "c"]) == ["b", "c", "a"]
    assert manifest.largest_first(["a", "c"]) == ["c", "a"]


def test_validate_refuses_a_dp_route_without_a_public_domain(tmp_path):
    """A trial routed to the DP method without a declared domain is refused by validate, naming the trial
    and the key, before any run spends minutes tuning."""
    from trialsynth.data.surrogate import TrialShape, make_trial

    frame = make_trial(TrialShape(400, 15), 1)
    archive = write_archive(
        tmp_path, {"big": frame}, defaults={"small_threshold": 100, "large_threshold": 300}
    )
    with pytest.raises(RegistryError) as raised:
        validate_registry(archive, read_data=True)
    assert raised.value.problems[0].startswith(
        "trial 'big': key 'domain': the differentially private method 'aim' (auto: 400 rows"
    )
    assert validate_registry(archive).trials  # the header-only check cannot know the route


def test_validate_names_every_undeclared_part_of_a_dp_domain(tmp_path):
    from trialsynth.data.surrogate import TrialShape, make_trial

    frame = make_trial(TrialShape(400, 15), 1)
    domain = {"columns": {"treatment": {"levels": [0, 1]}, "post_test_1": {"kind": "continuous"}}}
    archive = write_archive(
        tmp_path,
        {"big": frame},
        defaults={"small_threshold": 100, "large_threshold": 300},
        extra={"big": {"domain": domain}},
    )
    with pytest.raises(RegistryError) as raised:
        validate_registry(archive, read_data=True)
    problems = raised.value.problems
    assert (
        "trial 'big': key 'domain': column 'post_test_2' is a role of the trial but not in the "
        "public domain: declare it" in problems
    )
    assert any(
        p.startswith("trial 'big': key 'domain': column 'post_test_1': declare bounds (or set estimate")
        for p in problems
    )
    assert any("column 'school_id' is a role" in p for p in problems)


def test_a_codebook_file_is_read_and_its_problems_named(tmp_path):
    from tests.conftest import public_domain
    from trialsynth.data.surrogate import TrialShape, make_trial

    frame = make_trial(TrialShape(400, 15), 1)
    (tmp_path / "codebooks").mkdir()
    (tmp_path / "codebooks" / "big.yaml").write_text(yaml.safe_dump(public_domain(frame)))
    defaults = {"small_threshold": 100, "large_threshold": 300}
    archive = write_archive(
        tmp_path, {"big": frame}, defaults=defaults, extra={"big": {"codebook": "codebooks/big.yaml"}}
    )
    assert validate_registry(archive, read_data=True).trials
    plan = plan_of(archive, "big")
    assert plan.domain is not None and plan.domain.source.endswith("big.yaml")
    (tmp_path / "codebooks" / "big.yaml").write_text("columns: {treatment: {levels: [0, 1], bounds: [0, 1]}}")
    with pytest.raises(RegistryError, match=r"key 'codebook': big.yaml: columns.treatment: give levels"):
        validate_registry(archive)


def test_a_trial_with_a_broken_file_is_refused_alone(tmp_path):
    from registry.validation import check_registry
    from trialsynth.data.surrogate import TrialShape, make_trial

    trials = {"good": make_trial(TrialShape(300, 15), 1), "gone": make_trial(TrialShape(300, 15), 2)}
    archive = write_archive(tmp_path, trials)
    (archive.parent / "data" / "gone.csv").write_bytes(b"")
    manifest, problems = check_registry(archive)
    assert [t.id for t in manifest.trials] == ["good", "gone"]
    assert problems == {"gone": ["trial 'gone': key 'data': gone.csv: the file is empty (no header)"]}
