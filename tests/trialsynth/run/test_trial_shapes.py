"""The shapes a real archive holds, each on generated data, end to end through the engine:
k >= 2 arms, unrandomised rows, long format, id-like columns, narrow coded files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml

from tests.conftest import NO_RISK_LIMITS, run_registered
from trialsynth.catalogue import as_record, latest_attempts
from trialsynth.data import cleaning, identifiers
from trialsynth.data.design import arm_sizes
from trialsynth.data.restore import restore_dropped
from trialsynth.data.surrogate import TrialShape, design_roles, make_trial
from trialsynth.errors import TrialDataError
from trialsynth.outputs.clearance import clear_outputs
from trialsynth.plan import Roles


def _manifest(directory, trials: dict[str, tuple[pd.DataFrame, dict]], defaults: dict | None = None):
    (directory / "data").mkdir(parents=True, exist_ok=True)
    entries = []
    for trial_id, (frame, entry) in trials.items():
        frame.to_csv(directory / "data" / f"{trial_id}.csv", index=False)
        entries.append({"id": trial_id, "data": f"data/{trial_id}.csv", **entry})
    path = directory / "manifest.yaml"
    manifest = {
        "archive": "shapes",
        # small CART files sit near their training rows: the risk gate is tested elsewhere
        "defaults": {"ea_generations": 30, "risk_limits": NO_RISK_LIMITS, **(defaults or {})},
        "trials": entries,
    }
    path.write_text(yaml.safe_dump(manifest, sort_keys=False))
    return path


def _record(sessions, trial_id):
    with sessions() as session:
        return as_record(latest_attempts(session, [trial_id])[0])


def _three_arm(n=900, unrandomised=0.1, seed=1):
    frame = make_trial(TrialShape(n, 15, design="three_arm", unrandomised=unrandomised), seed)
    return frame, design_roles(frame, TrialShape(n, 15, design="three_arm"))


def test_k_arms_and_unrandomised_rows_are_kept_and_recorded():
    frame, roles = _three_arm()
    roles = {k: v for k, v in roles.items() if not k.startswith("tcap")}
    data, meta = cleaning.clean(frame, Roles.of(**roles), trial_id="t")
    assert len(data) == len(frame)  # unrandomised rows are kept
    assert meta.kinds["treatment"] == "categorical"
    assert [arm for arm, _ in meta.arms] == ["control", "programme_a", "programme_b"]
    assert meta.reference_arm == "control"
    assert meta.unrandomised == int(frame["treatment"].isna().sum()) > 0
    assert sum(rows for _, rows in meta.arms) + meta.unrandomised == len(frame)


def test_numeric_multi_arm_codes_are_categories_not_a_dose():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"arm": rng.integers(0, 5, 300), "y": rng.normal(size=300)})
    _, meta = cleaning.clean(frame, Roles.of(treatment="arm", outcomes=["y"]), trial_id="t")
    assert meta.kinds["arm"] == "categorical" and len(meta.arms) == 5


def test_the_ea_releases_k_minus_1_contrasts_against_the_reference_arm():
    frame, roles = _three_arm(n=1500)
    roles = {k: v for k, v in roles.items() if not k.startswith("tcap")}
    data, meta = cleaning.clean(frame, Roles.of(**roles), trial_id="t")
    released = clear_outputs(data, meta)
    terms = [t for t in released.models[0].terms if t.startswith("treatment_")]
    assert terms == ["treatment_programme_a", "treatment_programme_b"]  # the randomised pupils
    assert released.models[0].randomised_only


@pytest.mark.parametrize("design", ["three_arm", "factorial", "long", "narrow"])
def test_every_demo_design_runs_end_to_end(tmp_path, sessions, design):
    rows = {"three_arm": 900, "factorial": 700, "long": 900, "narrow": 600}[design]
    shape = TrialShape(rows, 15, design=design, unrandomised=0.08 if design == "three_arm" else 0.0)
    frame = make_trial(shape, 5)
    roles = {k: v for k, v in design_roles(frame, shape).items() if not k.startswith("tcap")}
    if design in ("three_arm", "factorial"):
        roles["bounds"] = {"pre_test_1": [0, 200], "post_test_1": [0, 200], "pre_test_2": [0, 200]}
    manifest = _manifest(tmp_path, {"t": (frame, roles)}, {"small_threshold": 800})
    outcome = run_registered(manifest, "t", tmp_path, sessions)
    record = _record(sessions, "t")
    assert outcome.status == "succeeded", outcome.error
    design_record = record["cleaning"]["design"]
    assert design_record["reference_arm"] == arm_sizes(frame[roles["treatment"]])[0][0]
    released = pd.read_csv(record["output_path"])
    assert list(released.columns) == [c for c in frame.columns if c in released.columns]
    if design == "three_arm":
        assert design_record["unrandomised_rows"] > 0 and released["treatment"].isna().any()
        assert set(released["treatment"].dropna()) == {"control", "programme_a", "programme_b"}
    if design == "long":  # fresh pupil ids, as many rows per pupil as the real file's pupils
        real_sizes = frame["pupil_id"].value_counts().value_counts().to_dict()
        assert released["pupil_id"].value_counts().value_counts().to_dict() == real_sizes
        assert not set(released["pupil_id"]) & set(frame["pupil_id"])


def test_an_undeclared_id_column_is_refused_naming_what_to_declare():
    frame = make_trial(TrialShape(900, 0, design="long"), 2)
    with pytest.raises(TrialDataError, match=r"column 'pupil_id' looks like an identifier.*'unit'"):
        cleaning.clean(
            frame, Roles.of(treatment="arm", outcomes=["score"], cluster="school_id"), trial_id="t"
        )


@pytest.mark.parametrize(
    ("values", "name", "flagged"),
    [
        (np.repeat(np.arange(5000, 5400), 3), "student", True),  # long-format ids: few rows each
        (np.arange(300) % 150 + 10, "teacher_no", True),  # named like an id
        (np.random.default_rng(1).integers(0, 120, 3000), "score", False),  # a scale, many rows per value
        (np.random.default_rng(1).normal(0, 1, 3000), "z", False),  # not integers
    ],
)
def test_id_like_columns(values, name, flagged):
    assert bool(identifiers.looks_like_id(pd.Series(values, name=name))) is flagged


def test_a_declared_measurement_or_bounded_column_is_not_taken_for_an_id():
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(
        {"arm": rng.integers(0, 2, 400), "days": rng.permutation(400) + 1, "y": rng.normal(size=400)}
    )
    frame.loc[::2, "days"] = frame.loc[1::2, "days"].to_numpy()  # repeated, so not a unique row id
    with pytest.raises(TrialDataError, match="'days' looks like an identifier"):
        cleaning.clean(frame, Roles.of(treatment="arm", outcomes=["y"]), trial_id="t")
    data, meta = cleaning.clean(
        frame, Roles.of(treatment="arm", outcomes=["y"], continuous=["days"]), trial_id="t"
    )
    assert meta.kinds["days"] == "continuous"


def test_units_are_restored_grouped_by_arm():
    frame = make_trial(TrialShape(600, 0, design="long"), 4)
    data, meta = cleaning.clean(
        frame, Roles.of(treatment="arm", outcomes=["score"], unit="pupil_id"), trial_id="t"
    )
    assert "pupil_id" not in data.columns  # the id never reaches a synthesiser
    released = restore_dropped(data.sample(frac=1, random_state=1), meta)
    assert (released.groupby("pupil_id")["arm"].nunique() == 1).mean() > 0.95
    assert list(released.columns) == list(frame.columns)


def test_the_default_tcap_key_never_repeats_its_target(tmp_path, sessions):
    """A narrow file whose binary outcome comes first among the coded columns."""
    rng = np.random.default_rng(8)
    frame = pd.DataFrame({"arm": rng.integers(0, 2, 700), "passed": rng.integers(0, 2, 700)})
    frame["sex"] = rng.choice(["F", "M"], 700)
    frame["band"] = rng.choice([1, 2, 3], 700)
    entry = {"treatment": "arm", "outcomes": ["passed"], "categorical": ["band"]}
    manifest = _manifest(tmp_path, {"t": (frame, entry)}, {"small_threshold": 800})
    outcome = run_registered(manifest, "t", tmp_path, sessions)
    assert outcome.status == "succeeded", outcome.error


def test_unit_sizes_fall_on_every_arm_alike():
    """Half the pupils of each arm have three rows, half one: the release keeps that in each arm."""
    rng = np.random.default_rng(2)
    sizes = np.tile([3, 1], 200)
    frame = pd.DataFrame({"pid": np.repeat(np.arange(400), sizes)})
    frame["arm"] = np.repeat(np.arange(400) % 2, sizes)
    frame["y"] = rng.normal(size=len(frame))
    data, meta = cleaning.clean(frame, Roles.of(treatment="arm", outcomes=["y"], unit="pid"), trial_id="t")
    released = restore_dropped(data, meta, np.random.default_rng(1))
    per_pupil = released.groupby("pid").agg(rows=("y", "size"), arm=("arm", "first"))
    share_three = per_pupil.groupby("arm")["rows"].apply(lambda r: (r == 3).mean())
    assert share_three.between(0.35, 0.65).all(), share_three.to_dict()


def test_a_small_files_text_pupil_ids_are_refused():
    frame = pd.DataFrame({"pupil_id": [f"P{i:04d}" for i in np.repeat(np.arange(60), 2)]})
    frame["arm"], frame["y"] = np.repeat(np.arange(60) % 2, 2), np.arange(120.0)
    with pytest.raises(TrialDataError, match="'pupil_id' looks like an identifier"):
        cleaning.clean(frame, Roles.of(treatment="arm", outcomes=["y"]), trial_id="t")


def test_keys_that_are_not_synthesised_are_named(tmp_path):
    from registry.validation import check_registry

    frame, roles = _three_arm()
    roles = {k: v for k, v in roles.items() if not k.startswith("tcap")}
    roles["keys"] = ["school_id", "pupil_id", "pupil_gender"]
    manifest = _manifest(tmp_path, {"t": (frame, roles)})
    _, problems = check_registry(manifest, read_data=True)
    assert problems["t"] == [
        "trial 't': key 'keys': column 'school_id' is the school label "
        "(released as new labels, never compared)",
        "trial 't': key 'keys': column 'pupil_id' is dropped by cleaning (listed in the manifest's drop)",
    ]
