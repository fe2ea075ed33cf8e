"""The comparison's ranking and files: fidelity beside the release gate's verdicts, a file the
gate would refuse ranked below one it would pass, failed and unavailable candidates unranked."""

import csv
import json

from trialsynth.reports.comparison import ranked, write_comparison


def _row(method, status="succeeded", category="plausible", pmse=2.0, would_release=True, over=()):
    verdicts = {
        "replicated_uniques": {"value": 0, "limit": 0, "verdict": "within"},
        "dcr_share": {"value": 0.8 if "dcr_share" in over else 0.5, "limit": 0.65, "verdict": "within"},
    }
    for name in over:
        verdicts[name]["verdict"] = "over"
    return {
        "method": method,
        "status": status,
        "ons_category": category if status == "succeeded" else None,
        "metrics": {"pmse_ratio": pmse, "corr_msd": 0.01} if status == "succeeded" else {},
        "would_release": would_release if status == "succeeded" else None,
        "verdicts": verdicts if status == "succeeded" else {},
        "epsilon": None,
        "tune_s": None,
        "fit_s": 1.0,
        "seconds": 2.0,
        "error": None if status == "succeeded" else "why",
        "report_path": None,
        "domain": None,
    }


def test_a_file_the_gate_would_refuse_ranks_below_one_it_would_pass_whatever_its_fidelity():
    rows = [
        _row("unavailable", status="unavailable"),
        _row("copier", category="multivariate_detailed", pmse=1.0, would_release=False, over=("dcr_share",)),
        _row("plausible", category="plausible", pmse=1.2),
        _row("mv-far", category="multivariate_plausible", pmse=9.0),
        _row("mv-near", category="multivariate_plausible", pmse=0.5),
        _row("broken", status="failed"),
    ]
    order = [(r["method"], r["rank"]) for r in ranked(rows)]
    assert order == [
        ("mv-near", 1),  # |log 0.5| < |log 9|
        ("mv-far", 2),
        ("plausible", 3),
        ("copier", 4),
        ("unavailable", None),
        ("broken", None),
    ]
    assert ranked(rows)[3]["over"] == ["dcr_share"]


def test_a_replica_ranks_below_the_categories_a_release_can_have():
    rows = [_row("copy", category="replica", pmse=1.0), _row("ok", category="valid", pmse=3.0)]
    assert [r["method"] for r in ranked(rows)] == ["ok", "copy"]


def test_the_files_carry_the_ranking_and_each_measure_beside_its_verdict(tmp_path):
    rows = [_row("a", pmse=4.0), _row("b", would_release=False, over=("dcr_share",))]
    paths = write_comparison(rows, tmp_path, archive="x", trial_id="t", comparison_id="c")
    written = json.loads(paths["json"].read_text())
    assert [(r["method"], r["rank"]) for r in written] == [("a", 1), ("b", 2)]
    table = list(csv.DictReader(paths["csv"].open()))
    assert (
        table[1]["over"] == "dcr_share"
        and table[1]["dcr_share"] == "0.8"
        and table[1]["would_release"] == "False"
    )
    page = paths["html"].read_text()
    assert "would refuse: dcr_share" in page and 'class="over">0.8' in page and "file not kept" in page
