"""End to end: the real Prefect flow on a tiny archive, through the CLI, checked in the catalogue."""

import json
from pathlib import Path

import pytest

from cli.main import main
from tests.conftest import NO_RISK_LIMITS, write_archive
from trialsynth.data.surrogate import TrialShape, make_trial
from trialsynth.evaluation.metrics import RECORD_METRIC_KEYS


@pytest.mark.flow
def test_run_archive_end_to_end(tmp_path, prefect_harness, capsys):
    broken = make_trial(TrialShape(400, 15), 4)
    trials = {
        "mid-a": make_trial(TrialShape(700, 16), 1),
        "mid-b": make_trial(TrialShape(600, 15), 2),
        "small": make_trial(TrialShape(250, 15), 3),
        "broken": broken,
    }
    manifest = write_archive(
        # lifted: CART on a few hundred rows is over the default risk limits; this test needs
        # the file released to check something else
        tmp_path,
        trials,
        defaults={"small_threshold": 300, "ea_generations": 40},
        risk_limits=NO_RISK_LIMITS,
    )
    (manifest.parent / "data" / "broken.csv").write_bytes(b"")  # a truncated file fails its trial only
    url = f"sqlite:///{tmp_path / 'catalogue.db'}"
    code = main(["run", "--registry", str(manifest), "--catalogue", url, "--out", str(tmp_path / "out")])
    assert code == 3  # the broken trial failed; every other trial still completed
    capsys.readouterr()
    assert main(["catalogue", "--catalogue", url, "--json"]) == 0
    records = {r["trial_id"]: r for r in json.loads(capsys.readouterr().out)}
    assert set(records) == set(trials)
    for trial_id in ("mid-a", "mid-b"):
        record = records[trial_id]
        assert record["status"] == "succeeded" and record["method"] == "cart"
        assert set(record["metrics"]) == set(RECORD_METRIC_KEYS)
        assert record["ons_category"] and record["output_path"].endswith(f"{trial_id}.csv")
    assert records["small"]["status"] == "succeeded" and records["small"]["method"] == "ea"
    small_mae = records["small"]["metrics"]["coef_mae"]
    assert isinstance(small_mae, float) and 0 < small_mae < float("inf")  # measured on the file
    assert "released outputs" in records["small"]["route_reason"]
    assert records["broken"]["status"] == "failed"
    assert (
        records["broken"]["error"] == "trial 'broken': key 'data': broken.csv: the file is empty (no header)"
    )
    assert len({r["run_id"] for r in records.values()}) == 1
    # each released file has its report beside it; the run wrote its dashboard
    for trial_id in ("mid-a", "mid-b", "small"):
        report = Path(records[trial_id]["report_path"])
        assert report.is_file() and report.parent == Path(records[trial_id]["output_path"]).parent
    assert records["broken"]["report_path"] is None
    run_page = tmp_path / "out" / f"dashboard-{records['mid-a']['run_id']}.html"
    assert run_page.is_file() and "mid-b.report.html" in run_page.read_text()
    assert main(["report", "--catalogue", url, "--out", str(tmp_path / "pages")]) == 0
    assert Path(capsys.readouterr().out.strip()).is_file()
    assert main(["report", "--catalogue", url, "--out", str(tmp_path / "pages"), "--run", "no-such-run"]) == 2

    assert (
        main(
            [
                "run",
                "--registry",
                str(manifest),
                "--catalogue",
                url,
                "--trial",
                "mid-a",
                "--out",
                str(tmp_path / "out"),
            ]
        )
        == 0
    )
    capsys.readouterr()
    main(["catalogue", "--catalogue", url, "--trial", "mid-a", "--history", "--json"])
    history = json.loads(capsys.readouterr().out)
    assert [h["status"] for h in history] == ["succeeded", "unchanged"]  # same release identity
    assert history[1]["output_path"] == history[0]["output_path"]
    assert history[1]["report_path"] == history[0]["report_path"]  # the release it repeats
    forced = ["run", "--registry", str(manifest), "--catalogue", url, "--trial", "mid-a", "--force"]
    assert main([*forced, "--out", str(tmp_path / "out")]) == 0
    capsys.readouterr()
    main(["catalogue", "--catalogue", url, "--trial", "mid-a", "--history", "--json"])
    assert [h["status"] for h in json.loads(capsys.readouterr().out)][-1] == "succeeded"  # re-released

    # the operator repairs the broken trial; rerun --failed reruns exactly it
    latest = {r["trial_id"]: r["run_id"] for r in records.values()}
    main(["catalogue", "--catalogue", url, "--trial", "mid-a", "--json"])
    latest["mid-a"] = json.loads(capsys.readouterr().out)[0]["run_id"]
    make_trial(TrialShape(400, 15), 4).to_csv(manifest.parent / "data" / "broken.csv", index=False)
    rerun = [
        "rerun",
        "--failed",
        "--registry",
        str(manifest),
        "--catalogue",
        url,
        "--out",
        str(tmp_path / "out"),
    ]
    assert main(rerun) == 0
    capsys.readouterr()
    main(["catalogue", "--catalogue", url, "--json"])
    after = {r["trial_id"]: r for r in json.loads(capsys.readouterr().out)}
    assert after["broken"]["status"] == "succeeded" and after["broken"]["run_id"] != latest["broken"]
    assert all(after[t]["run_id"] == latest[t] for t in ("mid-a", "mid-b", "small"))
    assert main(rerun) == 0  # nothing failed any more: nothing is rerun
    assert "no failed trials to rerun" in capsys.readouterr().err
    main(["catalogue", "--catalogue", url, "--history", "--json"])
    assert len(json.loads(capsys.readouterr().out)) == 7  # 4 + the unchanged and the forced run + the rerun

    from prefect.client.orchestration import get_client

    # the run's table artifact (read by key: this server version's artifact filter returns none)
    with get_client(sync_client=True) as client:
        response = client._client.get("/artifacts/archive-regeneration/latest")
    table = json.loads(response.json()["data"])
    assert {row["trial"] for row in table} == {"broken"} and table[0]["status"] == "succeeded"
    with get_client(sync_client=True) as client:
        link = client._client.get("/artifacts/archive-dashboard/latest").json()
        reports = client._client.get("/artifacts/trial-reports/latest").json()
    assert "(file://" in link["data"] and "dashboard-" in link["data"]  # prefect stores links as markdown
    assert reports["type"] == "markdown" and "broken.report.html" in reports["data"]
