import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from tests.conftest import NO_RISK_LIMITS, context_in, plan_of, public_domain, run_registered, write_archive
from trialsynth import synthesisers
from trialsynth.catalogue import as_record, latest_attempts
from trialsynth.catalogue.session import make_engine, make_sessionmaker
from trialsynth.data.surrogate import TrialShape, make_trial
from trialsynth.errors import RegistryError
from trialsynth.evaluation.metrics import RECORD_METRIC_KEYS
from trialsynth.run.pipeline import run_trial


@pytest.fixture()
def sessions(tmp_path):
    return make_sessionmaker(make_engine(f"sqlite:///{tmp_path / 'catalogue.db'}"))


def _run(manifest, trial_id, tmp_path, sessions):
    outcome = run_registered(manifest, trial_id, tmp_path, sessions)
    with sessions() as session:
        return outcome, as_record(latest_attempts(session, [trial_id])[0])


def test_cart_trial_is_released_and_catalogued(tmp_path, sessions, raw_trial):
    # lifted: CART on a few hundred rows is over the default risk limits; this test needs
    # the file released to check something else
    manifest = write_archive(tmp_path, {"mid": raw_trial}, risk_limits=NO_RISK_LIMITS)
    outcome, record = _run(manifest, "mid", tmp_path, sessions)
    assert outcome.status == "succeeded", outcome.error
    assert record["method"] == "cart" and record["route_reason"].startswith("auto: 300 <= 800 rows")
    assert set(record["metrics"]) == set(RECORD_METRIC_KEYS)
    assert record["ons_category"] and record["gate"].startswith("released")
    released = pd.read_csv(record["output_path"])
    assert "pupil_id" not in released.columns and len(released) == 800
    # Appendix A's drops are put back: same layout as the real file, minus the manifest's drops
    assert list(released.columns) == [c for c in raw_trial.columns if c != "pupil_id"]
    assert released["notes"].isna().all() and (released["project_name"] == "demo project").all()
    labels = released.groupby("pupil_fsm")["fsm_label"].unique().to_dict()
    assert labels == {0: ["Not eligible"], 1: ["Eligible for FSM"]}
    assert set(record["timings"]) >= {"load", "clean", "fit", "sample", "evaluate", "write"}
    assert len(record["lineage"]["manifest_entry_sha256"]) == 64
    assert record["lineage"]["packages"]["numpy"] and record["lineage"]["packages"]["synthgauge"]
    # nothing leaves before a person signs it off; the disclosure measures are recorded
    assert record["release"] == "staged" and record["access_tier"] == "accredited"
    assert record["reviewer"] is None and record["released_path"] is None
    assert record["disclosure"]["risk_rule"] and record["disclosure"]["risks_exceeded"] == []
    assert 0 <= record["metrics"]["dcr_share"] <= 1 and record["metrics"]["linkability_risk"] is not None
    assert record["lineage"]["school_synthesis"]["schools_drawn"] >= 1
    assert record["params"]["design"]["rule"] == "cart-design-v1"


def test_an_unregistered_method_is_refused_before_any_work(tmp_path):
    manifest = write_archive(
        tmp_path, {"tiny": make_trial(TrialShape(120, 15), 1)}, extra={"tiny": {"method": "vae"}}
    )
    with pytest.raises(RegistryError, match=r"trial 'tiny': key 'method': .*'vae' is not available"):
        plan_of(manifest, "tiny")


def test_a_route_whose_method_is_not_installed_fails_clearly(tmp_path, sessions, monkeypatch):
    monkeypatch.delitem(synthesisers.SYNTHESISERS, "cart")
    manifest = write_archive(tmp_path, {"mid": make_trial(TrialShape(400, 15), 1)})
    outcome, record = _run(manifest, "mid", tmp_path, sessions)
    assert outcome.status == "failed" and record["method"] == "cart"
    registered = "aim, ctgan, ea, gan, mst, pategan"
    assert (
        record["error"] == f"method 'cart' is not available in this installation (registered: {registered})"
    )
    assert record["output_path"] is None


def test_small_trial_is_synthesised_from_its_released_outputs(tmp_path, sessions):
    manifest = write_archive(
        tmp_path,
        {"tiny": make_trial(TrialShape(400, 15), 1)},
        defaults={"small_threshold": 1000, "ea_generations": 40},
    )
    outcome, record = _run(manifest, "tiny", tmp_path, sessions)
    assert outcome.status == "succeeded", record["error"]
    assert record["method"] == "ea" and "released outputs" in record["route_reason"]
    search = record["params"]["search"]
    assert record["metrics"]["coef_mae"] == pytest.approx(
        search["search_coef_mae"], abs=0.02
    )  # the file as searched
    assert record["metrics"]["feature_density_mad"] < 0.1  # evaluated against the real trial
    released = record["params"]["released_outputs"]
    assert [m["outcome"] for m in released["models"]] == ["post_test_1", "post_test_2"]
    assert record["params"]["search"]["generations"] == 40
    assert len(pd.read_csv(record["output_path"])) == 400


def test_small_policy_none_is_skipped(tmp_path, sessions):
    manifest = write_archive(
        tmp_path, {"tiny": make_trial(TrialShape(120, 15), 1)}, defaults={"small_policy": "none"}
    )
    outcome, record = _run(manifest, "tiny", tmp_path, sessions)
    assert outcome.status == "skipped" and "small_policy is none" in record["route_reason"]


class _CopyingSynthesiser:
    """Releases real rows verbatim: what the release gate exists to stop."""

    name = "cart"

    def __init__(self, **params):
        self.params = params

    @classmethod
    def params_from(cls, plan):
        return {}

    def fitted_record(self):
        return {}

    def fit(self, data, meta):
        self.data_, self.meta_ = data, meta
        return self

    def sample(self, n, rng):
        copied = self.data_.sample(n, replace=True, random_state=0).reset_index(drop=True)
        copied["school_id"] = "school-001"  # new cluster labels must not hide copied pupils
        return copied

    def get_params(self):
        return self.params


class _JitteringSynthesiser(_CopyingSynthesiser):
    """Releases training rows with a little noise on every measurement: no row equals a real one
    (the exact-match gate sees nothing), every row sits next to the pupil it copies."""

    def sample(self, n, rng):
        seed = int(rng.integers(1 << 31))
        rows = self.data_.sample(n, replace=True, random_state=seed).reset_index(drop=True)
        for name, kind in self.meta_.kinds.items():
            if kind == "continuous" and name in rows:
                rows[name] = rows[name] + rng.normal(0, 0.01 * float(rows[name].std()), n)
        return rows


def test_a_file_that_sits_on_its_training_rows_is_blocked_by_the_risk_limits(
    tmp_path, sessions, raw_trial, monkeypatch
):
    """The known-bad case of the attack gate in the real pipeline: the file is not written and
    the measures over their limit are named."""
    monkeypatch.setitem(synthesisers.SYNTHESISERS, "cart", f"{__name__}:_JitteringSynthesiser")
    # the default limits; no private rung (it would release the file under DP)
    limits = {"small_threshold": 300, "risk_limits": {}, "private_remedy": False}
    manifest = write_archive(tmp_path, {"mid": raw_trial}, defaults=limits)
    outcome, record = _run(manifest, "mid", tmp_path, sessions)
    assert outcome.status == "failed" and "disclosure over its limit" in outcome.error
    assert record["output_path"] is None and record["release"] is None
    assert record["disclosure"]["risks_exceeded"] and record["disclosure"]["risks_enforced"]
    assert record["metrics"]["replicated_uniques"] == 0  # the exact-match gate passed it
    assert record["metrics"]["dcr_share_low"] > 0.65 and record["metrics"]["linkability_risk_low"] > 0.1


class _SmoothedOnRedraw(_JitteringSynthesiser):
    """Its first draw sits on the training rows; its re-draw (smoothed) does not."""

    def redraw(self, n, rng):
        rows = self.data_.sample(n, replace=True, random_state=int(rng.integers(1 << 31))).reset_index(
            drop=True
        )
        for name, kind in self.meta_.kinds.items():
            if name not in rows or name == self.meta_.cluster:
                continue
            if kind == "continuous":
                rows[name] = rows[name] + rng.normal(0, float(rows[name].std()), n)
            rows[name] = rng.permutation(rows[name].to_numpy())
        return rows


def test_a_file_over_a_risk_limit_is_drawn_again_smoothed_before_it_is_blocked(
    tmp_path, sessions, raw_trial, monkeypatch
):
    monkeypatch.setitem(synthesisers.SYNTHESISERS, "cart", f"{__name__}:_SmoothedOnRedraw")
    limits = {"small_threshold": 300, "risk_limits": {}}
    manifest = write_archive(tmp_path, {"mid": raw_trial}, defaults=limits)
    outcome, record = _run(manifest, "mid", tmp_path, sessions)
    assert outcome.status == "succeeded", outcome.error
    disclosure = record["disclosure"]
    assert disclosure["whole_file_redrawn_for_risk"] and disclosure["first_draw_exceeded"]
    assert disclosure["risks_exceeded"] == [] and record["metrics"]["dcr_share"] < 0.65
    assert "evaluate_remedy1" in record["timings"]


def test_gate_blocks_a_file_that_reproduces_real_records(tmp_path, sessions, raw_trial, monkeypatch):
    monkeypatch.setitem(synthesisers.SYNTHESISERS, "cart", f"{__name__}:_CopyingSynthesiser")
    manifest = write_archive(tmp_path, {"mid": raw_trial})
    outcome, record = _run(manifest, "mid", tmp_path, sessions)
    assert outcome.status == "failed"
    assert record["error"] == (
        "release blocked: 800 synthetic rows reproduce a real record unique on every synthesised "
        "column after 1 round of re-drawing"
    )
    assert record["disclosure"]["replicated_uniques"] == 800
    assert record["metrics"]["replicated_uniques"] == 800
    assert record["output_path"] is None
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("*.csv"))


def test_unreadable_data_is_a_trial_failure(tmp_path, sessions, raw_trial):
    manifest = write_archive(tmp_path, {"mid": raw_trial})
    (tmp_path / "data" / "mid.csv").write_text("")
    outcome, record = _run(manifest, "mid", tmp_path, sessions)
    assert outcome.status == "failed" and record["error"] == "trial 'mid': mid.csv: the file is empty"


def _dp_archive(tmp_path, frame, defaults=None, epsilon=0.5):
    from trialsynth.data.surrogate import public_bounds

    bounds = {c: list(b) for c, b in public_bounds(frame.columns).items()}
    extra = {"dp": {"method": "mst", "epsilon": epsilon, "bounds": bounds, "domain": public_domain(frame)}}
    return write_archive(tmp_path, {"dp": frame}, defaults=defaults, extra=extra)


def test_dp_release_is_capped_ledgered_and_an_unchanged_release_spends_nothing(tmp_path, sessions, raw_trial):
    from trialsynth.catalogue import ledger

    manifest = _dp_archive(tmp_path, raw_trial, defaults={"epsilon_lifetime": 0.8})
    outcome, record = _run(manifest, "dp", tmp_path, sessions)
    assert outcome.status == "succeeded", outcome.error
    assert record["epsilon"] == 0.5 and record["params"]["epsilon_newly_spent"] == 0.5
    assert record["params"]["bin_scheme"]["post_test_1"]["bounds"] == [0.0, 200.0]
    assert "replacing one row" in record["params"]["guarantee"]
    why = record["analysis"]["category"]  # the domain's types match the data's: never a format fault
    assert record["ons_category"] and not any("numeric in one file only" in p for p in why["valid_problems"])
    _, again = _run(manifest, "dp", tmp_path, sessions)  # same identity: nothing re-synthesised
    assert again["status"] == "unchanged" and again["output_path"] == record["output_path"]
    assert again["epsilon"] == 0.5 and again["ons_category"] == record["ons_category"]
    assert again["params"]["epsilon_newly_spent"] == 0.0  # its own spend, not the release's
    assert f"repeats the release of attempt {record['attempt_id']}" in again["params"]["ledger"]
    assert set(again["timings"]) == {"identify"} and ledger.spent(sessions, "test", "dp") == 0.5
    changed = raw_trial.copy()
    changed.loc[0, "post_test_1"] = 150.0
    changed.to_csv(tmp_path / "data" / "dp.csv", index=False)  # a new release: 0.5 more > 0.8
    _, refused = _run(manifest, "dp", tmp_path, sessions)
    assert refused["status"] == "failed"
    assert refused["error"] == (
        "trial 'dp': this release needs epsilon 0.5 but 0.5 of the lifetime budget "
        "epsilon_lifetime 0.8 is spent"
    )


def test_a_forced_dp_release_draws_fresh_noise_and_is_charged(tmp_path, sessions, raw_trial):
    """The same plan, data and stored seed twice: the noise is not reproducible from them, so the
    two files differ, and the second release is paid for."""
    from trialsynth.catalogue import ledger

    manifest = _dp_archive(tmp_path, raw_trial, epsilon=1.0)
    first = run_registered(manifest, "dp", tmp_path, sessions)
    with sessions() as session:
        path = as_record(latest_attempts(session, ["dp"])[0])["output_path"]
    before = pd.read_csv(path)
    forced = run_registered(manifest, "dp", tmp_path, sessions, force=True)
    assert first.status == forced.status == "succeeded"
    after = pd.read_csv(path)
    assert not before.equals(after)
    assert ledger.spent(sessions, "test", "dp") == 2.0


def test_a_release_after_a_code_change_is_estimated_from_stored_measurements(
    tmp_path, sessions, raw_trial, monkeypatch
):
    """A new release identity (the method's version bumped) but the same data, domain, epsilon and
    measurement step: the file is made again from the noisy measurements the first release stored beside the
    catalogue - no second ledger row; a new epsilon measures (and pays) again."""
    import json

    from trialsynth.catalogue import ledger
    from trialsynth.synthesisers import METHOD_VERSIONS

    manifest = _dp_archive(tmp_path, raw_trial, epsilon=0.5)
    _, first = _run(manifest, "dp", tmp_path, sessions)
    assert first["status"] == "succeeded" and first["params"]["measurements"] == "measured"
    stored = Path(first["lineage"]["measurements_path"])
    out_dir = Path(first["output_path"]).parent
    assert stored.is_file() and out_dir not in stored.parents  # never in the released folder
    noisy = json.loads(stored.read_text())["measurements"]
    assert noisy and all(m["sigma"] > 0 for m in noisy)
    monkeypatch.setitem(METHOD_VERSIONS, "mst", "mst-next")  # its estimation changed, not its measuring
    _, second = _run(manifest, "dp", tmp_path, sessions)
    assert second["status"] == "succeeded", second["error"]
    assert second["release_identity"] != first["release_identity"]
    assert second["params"]["measurements"] == "from stored measurements"
    assert second["params"]["epsilon_newly_spent"] == 0.0 and second["epsilon"] == 0.5
    assert second["params"]["measurements_paid_by"]["attempt_id"] == first["attempt_id"]
    assert second["params"]["guarantee"] == first["params"]["guarantee"]
    assert ledger.spent(sessions, "test", "dp") == 0.5
    edited = yaml.safe_load(manifest.read_text())
    edited["trials"][0]["epsilon"] = 0.3  # the measurement step's inputs changed: measured and paid
    manifest.write_text(yaml.safe_dump(edited))
    _, third = _run(manifest, "dp", tmp_path, sessions)
    assert third["params"]["measurements"] == "measured" and third["params"]["epsilon_newly_spent"] == 0.3
    assert ledger.spent(sessions, "test", "dp") == pytest.approx(0.8)


def test_measurements_kept_beside_another_catalogue_are_not_reused(
    tmp_path, sessions, raw_trial, monkeypatch
):
    """The measurements' charge must be in this catalogue's ledger: with a new catalogue (same
    home) the release measures and pays again rather than release unaccounted."""
    from trialsynth.catalogue import ledger
    from trialsynth.synthesisers import METHOD_VERSIONS

    manifest = _dp_archive(tmp_path, raw_trial, epsilon=0.5)
    _run(manifest, "dp", tmp_path, sessions)
    other = make_sessionmaker(make_engine(f"sqlite:///{tmp_path / 'other.db'}"))
    monkeypatch.setitem(METHOD_VERSIONS, "mst", "mst-next")  # its estimation changed, not its measuring
    _, again = _run(manifest, "dp", tmp_path, other)
    assert again["params"]["measurements"] == "measured" and ledger.spent(other, "test", "dp") == 0.5


def test_a_stored_file_changed_since_it_was_written_is_not_reused(tmp_path, sessions, raw_trial, monkeypatch):
    """An attacker with write access to the store shrinks every sigma (a release would then claim
    the guarantee with a tenth of the noise): its SHA-256 no longer matches the paying attempt's
    lineage, so the release measures and pays again."""
    import json

    from trialsynth.catalogue import ledger
    from trialsynth.synthesisers import METHOD_VERSIONS

    manifest = _dp_archive(tmp_path, raw_trial, epsilon=0.5)
    _, first = _run(manifest, "dp", tmp_path, sessions)
    stored = Path(first["lineage"]["measurements_path"])
    assert len(first["lineage"]["measurements_sha256"]) == 64
    data = json.loads(stored.read_text())
    for m in data["measurements"]:
        m["sigma"] /= 10
    stored.write_text(json.dumps(data))
    monkeypatch.setitem(METHOD_VERSIONS, "mst", "mst-next")  # its estimation changed, not its measuring
    _, again = _run(manifest, "dp", tmp_path, sessions)
    assert again["params"]["measurements"] == "measured" and ledger.spent(sessions, "test", "dp") == 1.0


def test_an_unchanged_release_is_reported_and_any_change_re_synthesises(tmp_path, sessions, raw_trial):
    # lifted: CART on a few hundred rows is over the default risk limits; this test needs
    # the file released to check something else
    manifest = write_archive(tmp_path, {"mid": raw_trial}, risk_limits=NO_RISK_LIMITS)
    _, first = _run(manifest, "mid", tmp_path, sessions)
    _, second = _run(manifest, "mid", tmp_path, sessions)
    assert first["status"] == "succeeded" and second["status"] == "unchanged"
    assert second["lineage"]["unchanged_since"]["attempt_id"] == first["attempt_id"]
    assert second["release_identity"] == first["release_identity"] and len(first["release_identity"]) == 64
    assert second["analysis"] == first["analysis"] and second["metrics"] == first["metrics"]
    edited = yaml.safe_load(manifest.read_text())
    edited["trials"][0]["outcomes"] = ["post_test_2", "post_test_1"]  # a role changed: a new release
    manifest.write_text(yaml.safe_dump(edited))
    _, third = _run(manifest, "mid", tmp_path, sessions)
    assert third["status"] == "succeeded"
    Path(third["output_path"]).unlink()  # the released file is gone: it is made again
    _, fourth = _run(manifest, "mid", tmp_path, sessions)
    assert fourth["status"] == "succeeded"
    Path(fourth["output_path"]).write_text("another release's file\n")  # not the file released
    _, fifth = _run(manifest, "mid", tmp_path, sessions)
    assert (
        fifth["status"] == "succeeded"
        and fifth["lineage"]["output_sha256"] == fourth["lineage"]["output_sha256"]
    )


def test_a_deploy_that_changes_no_method_re_renders_the_pages_and_re_synthesises_nothing(
    tmp_path, sessions, raw_trial, monkeypatch
):
    """Another commit (a template, a message): the release is unchanged, its pages are rendered
    again by the new code from the aggregates kept beside its report, and the lineage says so;
    the same commit again renders nothing."""
    from trialsynth.reports import trial_report
    from trialsynth.run import pipeline

    manifest = write_archive(tmp_path, {"mid": raw_trial}, risk_limits=NO_RISK_LIMITS)
    _, first = _run(manifest, "mid", tmp_path, sessions)
    report = Path(first["report_path"])
    kept = trial_report.aggregates_path(report)
    assert kept.is_file() and trial_report.rendered_by(report) == pipeline.code_version()
    written = Path(first["output_path"]).stat().st_mtime_ns
    for module in (pipeline, trial_report):
        monkeypatch.setattr(module, "code_version", lambda: "9.9.9+next")
    _, second = _run(manifest, "mid", tmp_path, sessions)
    assert second["status"] == "unchanged" and second["release_identity"] == first["release_identity"]
    assert set(second["timings"]) == {"identify"}  # nothing loaded, fitted or evaluated
    assert second["lineage"]["rerendered"]["pages"] == [
        "mid.report.html",
        "mid.public.html",
        "mid.card.md",
    ]
    assert trial_report.rendered_by(report) == "9.9.9+next"
    assert Path(first["output_path"]).stat().st_mtime_ns == written  # the file itself untouched
    _, third = _run(manifest, "mid", tmp_path, sessions)
    assert third["status"] == "unchanged" and "rerendered" not in third["lineage"]
    kept.unlink()  # nothing to render from: the pages stay as they are
    for module in (pipeline, trial_report):
        monkeypatch.setattr(module, "code_version", lambda: "9.9.10")
    _, fourth = _run(manifest, "mid", tmp_path, sessions)
    assert fourth["status"] == "unchanged" and "rerendered" not in fourth["lineage"]


def test_a_private_release_stands_when_measuring_it_fails(tmp_path, sessions, raw_trial, monkeypatch):
    """The DP file is written before anything else reads real rows: a failure of evaluation
    afterwards is recorded, and the release (and its charge) stand."""
    from trialsynth.evaluation import trial

    def broken(*args, **kwargs):
        raise ValueError("a metric fell over")

    monkeypatch.setattr(trial, "assess", broken)
    manifest = _dp_archive(tmp_path, raw_trial)
    outcome, record = _run(manifest, "dp", tmp_path, sessions)
    assert outcome.status == "succeeded" and Path(record["output_path"]).is_file()
    assert (
        record["error"]
        == "released; measuring the file against the real data failed: ValueError: a metric fell over"
    )


def test_trial_known_only_by_released_outputs_of_two_sources(tmp_path, sessions):
    from trialsynth.outputs.trial import clear_trial

    sources = write_archive(
        tmp_path / "owners",
        {"a": make_trial(TrialShape(400, 15), 1), "b": make_trial(TrialShape(450, 15), 2)},
    )
    for name in ("a", "b"):
        clear_trial(plan_of(sources, name)).to_json(tmp_path / f"{name}.json")
    entry = {
        "id": "joint",
        "outputs": ["a.json", "b.json"],
        "treatment": "treatment",
        "outcomes": ["post_test_1", "post_test_2"],
        "cluster": "school_id",
    }
    manifest = tmp_path / "joint.yaml"
    manifest.write_text(
        yaml.safe_dump({"archive": "joint", "defaults": {"ea_generations": 30}, "trials": [entry]})
    )
    outcome, record = _run(manifest, "joint", tmp_path, sessions)
    assert outcome.status == "succeeded", record["error"]
    assert record["method"] == "ea" and "released outputs of 2 source(s)" in record["route_reason"]
    assert record["n_rows"] == 850 and record["ons_category"] == "valid"
    assert record["metrics"]["coef_mae"] is not None and record["metrics"]["corr_msd"] is None
    assert record["params"]["released_outputs"]["sources"] == ["test/a", "test/b"]
    released = pd.read_csv(record["output_path"])
    assert len(released) == 850 and released["school_id"].str.fullmatch(r"school-\d+").all()


def test_a_record_keeps_what_was_learnt_before_cleaning_failed(tmp_path, sessions):
    broken = make_trial(TrialShape(400, 15), 4)
    broken["post_test_1"] = None  # an outcome with no values: cleaning refuses the trial
    manifest = write_archive(tmp_path, {"mid": broken})
    outcome, record = _run(manifest, "mid", tmp_path, sessions)
    assert outcome.status == "failed" and "has no values" in record["error"]
    assert len(record["cleaning"]["input_sha256"]) == 64  # the input was read: its hash is kept


def test_numpy_values_in_a_methods_record_are_stored_as_json(tmp_path, sessions, raw_trial, monkeypatch):
    import numpy as np

    from trialsynth.synthesisers.cart import CartSynthesiser

    monkeypatch.setattr(
        CartSynthesiser, "fitted_record", lambda self: {"leaves": np.int64(3), "w": np.ones(2)}
    )
    manifest = write_archive(tmp_path, {"mid": raw_trial})
    outcome, record = _run(manifest, "mid", tmp_path, sessions)
    assert outcome.status in {"succeeded", "failed"} and record["finished_at"]
    assert record["params"]["leaves"] == 3 and record["params"]["w"] == [1.0, 1.0]


def test_a_dp_release_whose_charge_fails_is_never_fitted_or_written(
    tmp_path, sessions, raw_trial, monkeypatch
):
    from sqlalchemy.exc import OperationalError

    from trialsynth.catalogue import ledger

    def refuse(*args, **kwargs):
        raise OperationalError("INSERT", {}, Exception("catalogue went away"))

    monkeypatch.setattr(ledger, "reserve", refuse)
    manifest = _dp_archive(tmp_path, raw_trial)
    outcome, record = _run(manifest, "dp", tmp_path, sessions)
    assert outcome.status == "failed" and "catalogue went away" in record["error"]
    assert record["output_path"] is None and not list((tmp_path / "out").rglob("*.csv"))


def test_a_dp_route_without_a_public_domain_fails_before_any_cleaning_or_tuning(tmp_path, sessions):
    frame = make_trial(TrialShape(400, 15), 1)
    manifest = write_archive(
        tmp_path, {"big": frame}, defaults={"small_threshold": 100, "large_threshold": 300}
    )
    outcome = run_registered(manifest, "big", tmp_path, sessions)
    assert (
        outcome.status == "failed"
        and "key 'domain': the differentially private method 'aim'" in outcome.error
    )
    assert set(outcome.timings) == {"identify", "load"}  # nothing cleaned, tuned, fitted or sampled


def test_a_plan_with_problems_fails_at_once_with_them(tmp_path, sessions):
    manifest = write_archive(tmp_path, {"t": make_trial(TrialShape(400, 15), 1)})
    plan = dataclasses.replace(plan_of(manifest, "t"), problems=("trial 't': key 'data': unreadable",))
    outcome = run_trial(plan, sessions, context_in(tmp_path))
    assert outcome.status == "failed" and outcome.error == "trial 't': key 'data': unreadable"
    assert outcome.timings == {}


class _SafeOnlyWhenCoarse(_JitteringSynthesiser):
    """Declares a ladder of three remedies; only a refit with leaves of 80 draws away from the
    training rows (every other draw sits on them)."""

    def __init__(self, min_leaf=5, **params):
        self.params = {**params, "min_leaf": min_leaf}

    def remedies(self):
        return (
            synthesisers.base.Rung("smoothed donors"),
            synthesisers.base.Rung("leaves of 20", {"min_leaf": 20}),
            synthesisers.base.Rung("leaves of 80", {"min_leaf": 80}),
        )

    def redraw(self, n, rng):
        if self.params["min_leaf"] < 80:
            return self.sample(n, rng)
        return _SmoothedOnRedraw.redraw(self, n, rng)


class _NeverSafe(_SafeOnlyWhenCoarse):
    def redraw(self, n, rng):
        return self.sample(n, rng)


def test_a_file_over_a_risk_limit_climbs_the_ladder_until_a_rung_releases_it(
    tmp_path, sessions, raw_trial, monkeypatch
):
    monkeypatch.setitem(synthesisers.SYNTHESISERS, "cart", f"{__name__}:_SafeOnlyWhenCoarse")
    manifest = write_archive(tmp_path, {"mid": raw_trial}, defaults={"small_threshold": 300})
    outcome, record = _run(manifest, "mid", tmp_path, sessions)
    assert outcome.status == "succeeded", outcome.error
    tried = record["disclosure"]["remedies_tried"]
    assert [step["remedy"] for step in tried] == ["smoothed donors", "leaves of 20", "leaves of 80"]
    assert all(step["because"] for step in tried) and record["disclosure"]["risks_exceeded"] == []
    assert record["params"]["min_leaf"] == 80  # the released file's settings: the last rung's
    assert {"evaluate_remedy1", "evaluate_remedy3", "resample_remedy3"} <= set(record["timings"])


def test_a_file_is_blocked_only_when_every_rung_fails_and_the_error_names_them(
    tmp_path, sessions, raw_trial, monkeypatch
):
    monkeypatch.setitem(synthesisers.SYNTHESISERS, "cart", f"{__name__}:_NeverSafe")
    defaults = {"small_threshold": 300, "private_remedy": False}
    manifest = write_archive(tmp_path, {"mid": raw_trial}, defaults=defaults)
    outcome, record = _run(manifest, "mid", tmp_path, sessions)
    assert outcome.status == "failed" and record["output_path"] is None
    assert "after 3 remedies (smoothed donors; leaves of 20; leaves of 80)" in outcome.error
    assert len(record["disclosure"]["remedies_tried"]) == 3


def test_the_ladders_last_rung_releases_under_dp_over_a_public_domain_and_is_charged(
    tmp_path, sessions, raw_trial, monkeypatch
):
    from trialsynth.catalogue import ledger

    monkeypatch.setitem(synthesisers.SYNTHESISERS, "cart", f"{__name__}:_NeverSafe")
    defaults = {"small_threshold": 300, "large_method": "mst", "epsilon_lifetime": 1.5}
    bounds = {f"post_test_{k}": [0, 200] for k in (1, 2)}
    manifest = write_archive(
        tmp_path, {"mid": raw_trial}, defaults=defaults, extra={"mid": {"bounds": bounds}}
    )
    outcome, record = _run(manifest, "mid", tmp_path, sessions)
    assert outcome.status == "succeeded", outcome.error
    assert record["method"] == "mst" and "risk ladder's last remedy" in record["route_reason"]
    tried = [step["remedy"] for step in record["disclosure"]["remedies_tried"]]
    assert tried[:3] == ["smoothed donors", "leaves of 20", "leaves of 80"] and tried[3].startswith("mst")
    assert record["epsilon"] == 1.0 and ledger.spent(sessions, "test", "mid") == 1.0  # the default epsilon
    assert not record["disclosure"]["risks_enforced"]  # the guarantee covers every row
    params = record["params"]
    assert "design" not in params and "min_leaf" not in params  # the DP method's settings alone
    assert params["bin_scheme"]["post_test_1"]["bounds"] == [0.0, 200.0]  # declared: public
    assert "estimated under DP" in params["guarantee"]  # the rest of the domain paid for
    released = pd.read_csv(record["output_path"])
    assert len(released) == len(raw_trial)
    _, again = _run(manifest, "mid", tmp_path, sessions)  # the same release: never charged twice
    assert again["status"] == "unchanged" and ledger.spent(sessions, "test", "mid") == 1.0


def test_a_long_format_trials_last_rung_protects_a_pupil_and_releases_pupils_of_k_rows(
    tmp_path, sessions, raw_trial, monkeypatch
):
    from trialsynth.catalogue import ledger

    monkeypatch.setitem(synthesisers.SYNTHESISERS, "cart", f"{__name__}:_NeverSafe")
    long = raw_trial.assign(pupil_id=raw_trial.index // 3)  # three rows a pupil
    defaults = {"small_threshold": 300, "large_method": "mst", "dp_rows_per_pupil": 2}
    bounds = {f"post_test_{k}": [0, 200] for k in (1, 2)}
    manifest = write_archive(
        tmp_path,
        {"mid": long},
        defaults=defaults,
        extra={"mid": {"unit": "pupil_id", "drop": [], "bounds": bounds}},
    )
    outcome, record = _run(manifest, "mid", tmp_path, sessions)
    assert outcome.status == "succeeded", outcome.error
    tried = [step["remedy"] for step in record["disclosure"]["remedies_tried"]]
    assert tried[-1] == "mst under differential privacy over a public domain, each pupil's rows bounded to 2"
    assert record["params"]["unit_rows"] == 2 and record["params"]["budget"]["rows_per_pupil"] == 2
    assert "replacing one pupil's rows (each pupil contributes exactly 2" in record["params"]["guarantee"]
    assert ledger.spent(sessions, "test", "mid") == 1.0  # the pupil's epsilon, charged once
    released = pd.read_csv(record["output_path"])
    pupils = long["pupil_id"].nunique()
    assert len(released) == 2 * pupils  # not the real row count
    assert (released.groupby("pupil_id").size() == 2).all() and released["pupil_id"].nunique() == pupils


def _waves(pupils: int, seed: int = 0) -> pd.DataFrame:
    """A long-format trial: pupils in schools, up to three waves each, the arm by pupil."""
    rng = np.random.default_rng(seed)
    rows = []
    school, arm, effect = rng.integers(1, 21, pupils), rng.integers(0, 2, pupils), rng.normal(0, 2, pupils)
    for p in range(pupils):
        for wave in range(1, int(rng.choice([2, 3], p=[0.3, 0.7])) + 1):
            score = 50 + 2 * wave + arm[p] + effect[p] + rng.normal()
            rows.append((f"P{p:05d}", school[p], arm[p], wave, round(score, 1)))
    return pd.DataFrame(rows, columns=["pupil_id", "school_id", "treatment", "wave", "score"])


def test_a_long_format_trial_is_released_pupil_by_pupil(tmp_path, sessions):
    manifest = write_archive(
        tmp_path,
        {"long": _waves(700)},
        defaults={"small_threshold": 300},
        risk_limits=NO_RISK_LIMITS,
        extra={"long": {"treatment": "treatment", "outcomes": ["score"], "cluster": "school_id",
                        "unit": "pupil_id", "categorical": ["wave"], "drop": []}},
    )  # fmt: skip
    outcome, record = _run(manifest, "long", tmp_path, sessions)
    assert outcome.status == "succeeded", outcome.error
    assert record["method"] == "cart" and record["params"]["design"]["rule"] == "cart-units-v1"
    released = pd.read_csv(record["output_path"])
    pupils = released.groupby("pupil_id")
    assert (pupils["treatment"].nunique() == 1).all() and (pupils["school_id"].nunique() == 1).all()
    in_order = pupils["wave"].agg(list).map(lambda w: w == list(range(1, len(w) + 1)))
    assert in_order.mean() > 0.9
    assert record["lineage"]["holdout"]["unit"].startswith("pupil")
