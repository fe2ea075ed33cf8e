"""``trialsynth catalogue`` and ``trialsynth report``: exit codes and the JSON fields SPEC names."""

import json

from cli.main import main
from trialsynth.catalogue.attempts import finish_attempt, start_attempt
from trialsynth.catalogue.session import sessions_for
from trialsynth.evaluation.metrics import RECORD_METRIC_KEYS

SPEC_FIELDS = {
    "trial_id", "run_id", "status", "method", "route_reason", "n_rows", "n_cols", "epsilon",
    "ons_category", "metrics", "error", "output_path", "seed", "started_at", "finished_at",
    "duration_s", "code_version", "report_path", "release", "reviewer", "reviewed_at",
    "review_reason", "released_path",
}  # fmt: skip
SPEC_METRICS = {
    "corr_msd", "corr_ratio_msd", "pmse_ratio", "feature_density_mad", "precision_diff",
    "recall_diff", "f1_diff", "min_nn_distance", "min_nn_distance_outliers", "tcap",
    "sample_overlap", "effect_ci_overlap", "effect_std_diff", "effect_sign_agreement", "icc_real",
    "icc_synthetic", "singling_out_risk", "linkability_risk", "inference_risk", "dcr_share",
    "replicated_uniques",
}  # fmt: skip


def _catalogue(tmp_path):
    url = f"sqlite:///{tmp_path / 'c.db'}"
    sessions = sessions_for(url)
    for run, (trial, status, method) in enumerate(
        [("t1", "failed", None), ("t1", "succeeded", "cart"), ("t2", "succeeded", "ea")]
    ):
        attempt = start_attempt(
            sessions, run_id=f"r{run}", archive="a", trial_id=trial, seed=7, code_version="v"
        )
        metrics = {k: 0.25 for k in RECORD_METRIC_KEYS} if status == "succeeded" else None
        finish_attempt(
            sessions, attempt, status=status, method=method, metrics=metrics, ons_category="plausible",
            error="boom" if status == "failed" else None, output_path=str(tmp_path / f"{trial}.csv"),
        )  # fmt: skip
    return url


def test_catalogue_json_has_every_field_and_metric_the_contract_names(tmp_path, capsys):
    url = _catalogue(tmp_path)
    assert main(["catalogue", "--catalogue", url, "--json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert [(r["trial_id"], r["status"]) for r in records] == [("t1", "succeeded"), ("t2", "succeeded")]
    for record in records:
        assert SPEC_FIELDS <= set(record)
        assert SPEC_METRICS <= set(record["metrics"])
        assert record["epsilon"] is None and record["seed"] == 7


def test_catalogue_filters_and_history(tmp_path, capsys):
    url = _catalogue(tmp_path)
    assert main(["catalogue", "--catalogue", url, "--json", "--trial", "t1", "--history"]) == 0
    assert [r["status"] for r in json.loads(capsys.readouterr().out)] == ["failed", "succeeded"]
    assert main(["catalogue", "--catalogue", url, "--json", "--method", "ea"]) == 0
    assert [r["trial_id"] for r in json.loads(capsys.readouterr().out)] == ["t2"]
    assert main(["catalogue", "--catalogue", url, "--json", "--status", "failed", "--history"]) == 0
    assert [r["error"] for r in json.loads(capsys.readouterr().out)] == ["boom"]


def test_catalogue_audit_and_public_views(tmp_path, capsys):
    url = _catalogue(tmp_path)
    assert main(["catalogue", "--catalogue", url, "--audit"]) == 0
    audit = json.loads(capsys.readouterr().out)
    assert {r["trial_id"] for r in audit} == {"t1", "t2"}
    assert main(["catalogue", "--catalogue", url, "--public"]) == 0
    public = json.loads(capsys.readouterr().out)
    assert all("output_path" not in r for r in public)  # the publishable view names no secure path


def test_catalogue_table_and_a_bad_date_or_method(tmp_path, capsys):
    import pytest

    url = _catalogue(tmp_path)
    assert main(["catalogue", "--catalogue", url]) == 0
    assert "t2" in capsys.readouterr().out
    for argv in (["--since", "yesterday"], ["--method", "magic"]):
        with pytest.raises(SystemExit) as info:
            main(["catalogue", "--catalogue", url, *argv])
        assert info.value.code == 2


def test_report_prints_the_dashboard_path_and_refuses_an_unknown_run(tmp_path, capsys):
    url = _catalogue(tmp_path)
    assert main(["report", "--catalogue", url, "--out", str(tmp_path / "site")]) == 0
    page = capsys.readouterr().out.strip()
    assert page.endswith(".html") and (tmp_path / "site").is_dir()
    assert main(["report", "--catalogue", url, "--out", str(tmp_path / "site"), "--run", "nope"]) == 2
    assert "nope" in capsys.readouterr().err
