"""Audit queries: filters, the lineage view of each file, and the banded public export."""

import json
from datetime import UTC, datetime, timedelta

from cli.main import main
from trialsynth.catalogue import finish_attempt, start_attempt
from trialsynth.catalogue.bands import BANDS, band
from trialsynth.catalogue.models import Attempt
from trialsynth.catalogue.session import make_engine, make_sessionmaker


def _catalogue(tmp_path):
    url = f"sqlite:///{tmp_path / 'c.db'}"
    sessions = make_sessionmaker(make_engine(url))

    def attempt(trial, method, status, category=None, days_ago=0, **fields):
        attempt_id = start_attempt(
            sessions, run_id="r", archive="demo", trial_id=trial, seed=3, code_version="1+abc"
        )
        finish_attempt(sessions, attempt_id, status=status, method=method, ons_category=category, **fields)
        with sessions.begin() as session:
            session.get(Attempt, attempt_id).started_at = datetime.now(UTC) - timedelta(days=days_ago)

    lineage = {"manifest_entry_sha256": "e" * 64, "packages": {"numpy": "2.0"}}
    metrics = {
        "corr_msd": 0.0031,
        "feature_density_mad": 0.012,
        "precision_diff": -0.02,
        "sample_overlap": 0.0,
    }
    attempt(
        "a",
        "cart",
        "succeeded",
        "multivariate_detailed",
        days_ago=10,
        metrics=metrics,
        lineage=lineage,
        output_path="/out/a.csv",
        cleaning={"input_sha256": "d" * 64},
        gate="released",
        params={"engine": "trees"},
    )
    attempt(
        "b",
        "mst",
        "succeeded",
        "plausible",
        epsilon=1.0,
        metrics={"corr_msd": 0.05},
        output_path="/out/b.csv",
    )
    attempt("c", "ea", "failed", error="boom")
    return url


def _json(capsys, argv):
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_filters(tmp_path, capsys):
    url = _catalogue(tmp_path)
    base = ["catalogue", "--catalogue", url, "--json"]
    assert [r["trial_id"] for r in _json(capsys, [*base, "--method", "mst"])] == ["b"]
    assert [r["trial_id"] for r in _json(capsys, [*base, "--status", "failed"])] == ["c"]
    assert [r["trial_id"] for r in _json(capsys, [*base, "--category", "multivariate_detailed"])] == ["a"]
    recent = (datetime.now(UTC) - timedelta(days=2)).strftime("%Y-%m-%d")
    assert [r["trial_id"] for r in _json(capsys, [*base, "--since", recent])] == ["b", "c"]
    assert [r["trial_id"] for r in _json(capsys, [*base, "--until", recent])] == ["a"]
    assert _json(capsys, [*base, "--archive", "other"]) == []


def test_audit_view_gives_each_files_lineage(tmp_path, capsys):
    url = _catalogue(tmp_path)
    records = {r["trial_id"]: r for r in _json(capsys, ["catalogue", "--catalogue", url, "--audit"])}
    assert set(records) == {"a", "b"}  # files only: the failed attempt released nothing
    a = records["a"]
    assert a["input_sha256"] == "d" * 64 and a["manifest_entry_sha256"] == "e" * 64
    assert a["code_version"] == "1+abc" and a["packages"] == {"numpy": "2.0"} and a["seed"] == 3
    assert (
        a["params"] == {"engine": "trees"} and a["gate"] == "released" and a["metrics"]["corr_msd"] == 0.0031
    )
    assert records["b"]["epsilon"] == 1.0


def test_public_view_bands_metrics_and_hides_operator_detail(tmp_path, capsys):
    url = _catalogue(tmp_path)
    records = {r["trial_id"]: r for r in _json(capsys, ["catalogue", "--catalogue", url, "--public"])}
    a = records["a"]
    assert a["metric_bands"]["corr_msd"] == "0.0005-0.005"
    assert a["metric_bands"]["feature_density_mad"] == "0.01-0.02"  # shares of rows per bin (bands-v2)
    assert a["metric_bands"]["precision_diff"] == "0.01-0.05"  # by absolute value
    assert a["metric_bands"]["sample_overlap"] == "<= 0"
    text = json.dumps(records)
    assert "0.0031" not in text and "/out/" not in text and "boom" not in text


def test_band_edges():
    assert band("corr_msd", 0.0005) == "<= 0.0005"
    assert band("corr_msd", 0.5) == "> 0.1"
    assert band("corr_msd", None) is None and band("unknown", 1.0) is None
    assert all(list(edges) == sorted(edges) for edges in BANDS.values())
