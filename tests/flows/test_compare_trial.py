"""The comparison flow through the CLI: the table, the JSON the SPEC names, the files, and the
catalogue's attempts; and a manifest's ``method: gan`` through the real archive flow."""

import json
from pathlib import Path

import pytest

from cli.main import main
from tests.conftest import NO_RISK_LIMITS, write_archive
from trialsynth.data.surrogate import TrialShape, make_trial


@pytest.mark.flow
def test_compare_prints_one_object_per_method_and_records_attempts(
    tmp_path, prefect_harness, capsys, monkeypatch
):
    monkeypatch.delenv("TRIALSYNTH_COMPARATORS_ENV", raising=False)  # synthcity's rows: unavailable
    # lifted: CART on a few hundred rows is over the default risk limits; this test needs
    # the file released to check something else
    manifest = write_archive(tmp_path, {"t": make_trial(TrialShape(500, 15), 5)}, risk_limits=NO_RISK_LIMITS)
    url = f"sqlite:///{tmp_path / 'catalogue.db'}"
    argv = ["compare", str(manifest), "--trial", "t", "--catalogue", url, "--out", str(tmp_path / "out")]
    code = main(
        [
            *argv,
            "--json",
            "--method",
            "cart",
            "--method",
            "cart-synthpop",
            "--method",
            "gan",
            "--cart-trials",
            "2",
        ]
    )
    assert code == 0
    out = capsys.readouterr()
    rows = {row["method"]: row for row in json.loads(out.out)}
    assert set(rows) == {"cart", "cart-synthpop", "gan"}
    for name in ("cart", "cart-synthpop"):
        row = rows[name]
        assert row["status"] == "succeeded" and row["ons_category"] and row["fit_s"] is not None
        assert {"corr_msd", "pmse_ratio", "feature_density_mad"} <= set(row["metrics"])
    assert rows["gan"]["status"] == "unavailable" and "env create comparators" in rows["gan"]["error"]
    assert sorted(rows[name]["rank"] for name in ("cart", "cart-synthpop")) == [1, 2]
    assert rows["gan"]["rank"] is None and list(rows)[-1] == "gan"  # ranked: the unavailable last
    assert rows["cart"]["would_release"] is True and rows["cart"]["verdicts"]["dcr_share"]["limit"] == 1.0
    page = Path(out.err.split("comparison ")[-1].split(": ", 1)[1].strip().replace("\n", ""))
    assert page.is_file() and "cart-synthpop" in page.read_text()
    header = (page.parent / "comparison.csv").read_text().splitlines()[0]
    assert header.startswith("rank,method,status,ons_category,would_release,over,feature_density_mad")
    # the trial's own catalogue knows nothing of it: no attempt of the archive's, none to review
    assert main(["catalogue", "--catalogue", url, "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert main(["review", "--catalogue", url, "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    comparison = out.err.split("comparison ")[-1].split(":", 1)[0].strip()
    assert main(["catalogue", "--catalogue", url, "--comparison", comparison, "--json"]) == 0
    compared = json.loads(capsys.readouterr().out)
    assert [r["method"] for r in compared] == ["cart", "cart"] and all(r["release"] is None for r in compared)
    # the table for a person
    assert main([*argv, "--method", "cart-synthpop"]) == 0
    assert "methods compared on t" in capsys.readouterr().out


def test_compare_refuses_an_unknown_trial_or_candidate(tmp_path, capsys):
    manifest = write_archive(tmp_path, {"t": make_trial(TrialShape(300, 15), 5)})
    assert main(["compare", str(manifest), "--trial", "nope"]) == 2
    assert "no trial 'nope'" in capsys.readouterr().err
    assert main(["compare", str(manifest), "--trial", "t", "--method", "vae"]) == 2
    assert "no candidate named ['vae']" in capsys.readouterr().err


@pytest.mark.flow
@pytest.mark.comparators
def test_method_gan_in_a_manifest_releases_a_file_through_the_archive_flow(
    tmp_path, prefect_harness, comparator_env, capsys
):
    manifest = write_archive(
        tmp_path, {"g": make_trial(TrialShape(400, 15), 6)}, extra={"g": {"method": "gan"}}
    )
    url = f"sqlite:///{tmp_path / 'catalogue.db'}"
    code = main(["run", "--registry", str(manifest), "--catalogue", url, "--out", str(tmp_path / "out")])
    capsys.readouterr()
    assert code == 0
    assert main(["catalogue", "--catalogue", url, "--json"]) == 0
    (record,) = json.loads(capsys.readouterr().out)
    assert record["status"] == "succeeded" and record["method"] == "gan", record["error"]
    assert Path(record["output_path"]).is_file() and record["release"] == "staged"
    assert record["epsilon"] is None  # no DP guarantee is claimed for synthcity's files
    assert record["params"]["nominal_dp"]["epsilon"] == 1.0
    assert record["params"]["imputation"]["imputer"] == "hyperimpute"
