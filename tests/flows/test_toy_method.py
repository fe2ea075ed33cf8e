"""A method added in one class and one registration runs end to end through the real flow, with
its capabilities honoured: the toy is differentially private (it gets the noise stream, the
ledger is checked and charged, its epsilon and accounting are recorded), tunable (its epsilon
is chosen when the manifest leaves it open, and the choice recorded) and synthesises from
released outputs (a trial known only by outputs is fitted from them, with nothing charged)."""

import json
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest
import yaml
from sqlalchemy import select

from cli.main import main
from tests.conftest import plan_of, public_domain, write_archive
from trialsynth import defaults
from trialsynth.data.surrogate import TrialShape, make_trial, public_bounds
from trialsynth.outputs.trial import clear_trial
from trialsynth.synthesisers import SYNTHESISERS


class _Choice:
    def __init__(self, epsilon: float, n_rows: int):
        self.params = {"epsilon": epsilon}
        self.n_rows = n_rows

    def record(self) -> dict[str, Any]:
        return {"epsilon": self.params["epsilon"], "rule": "0.4 under the cap", "rows_seen": self.n_rows}


class ToyMarginals:
    """Each column drawn independently from its noisy histogram (discrete Gaussian, sigma from epsilon)."""

    name: ClassVar[str] = "toy"
    fits: ClassVar[list[str]] = []

    def __init__(self, *, epsilon: float = defaults.EPSILON, delta: float = 0.0, random_state: int = 0):
        self.epsilon, self.delta, self.random_state = epsilon, delta, random_state

    @classmethod
    def params_from(cls, plan) -> dict[str, Any]:
        return {"epsilon": plan.epsilon or defaults.EPSILON}

    def get_params(self) -> dict[str, Any]:
        return {"epsilon": self.epsilon, "delta": self.delta, "random_state": self.random_state}

    def fitted_record(self) -> dict[str, Any]:
        return {"columns": len(self.tables_)}

    @classmethod
    def tune(cls, plan, n_rows: int, n_cols: int, *, seed: int, cache_dir) -> _Choice | None:
        if plan.epsilon is not None:
            return None
        return _Choice(min(0.4, plan.policy.epsilon_cap), n_rows)

    def fit_outputs(self, outputs):
        ToyMarginals.fits.append("outputs")
        self.tables_ = {}
        for v in outputs.variables:
            values = list(v.levels) if v.kind == "categorical" else list(v.midpoints())
            values += [None] * v.has_missing
            self.tables_[v.name] = (np.asarray(values, dtype=object), np.asarray(v.proportions, dtype=float))
        self.columns_, self.cluster_ = list(self.tables_), None
        return self

    def output_metrics(self, synthetic: pd.DataFrame) -> dict[str, float | None]:
        return {"coef_mae": None}

    def accounting(self) -> str:
        return f"({self.epsilon:g}, delta)-DP: discrete Gaussian histograms"

    def privacy_spent(self) -> dict[str, float]:
        return {"epsilon": self.epsilon, "delta": 0.0}

    def fit(self, data: pd.DataFrame, meta, *, noise=None):
        assert noise is not None, "the pipeline must hand a private method its noise source"
        assert meta.domain is not None, "a private method gets the public domain"
        ToyMarginals.fits.append("noise")
        scale = data.shape[1] / self.epsilon
        self.tables_ = {}
        for name in data.columns:
            counts = data[name].value_counts(dropna=False)
            noisy = np.clip(
                counts.to_numpy(dtype=float) + noise.discrete_gaussian(scale, len(counts)), 0, None
            )
            self.tables_[name] = (counts.index.to_numpy(dtype=object), noisy / max(noisy.sum(), 1e-9))
        self.columns_ = list(data.columns)
        self.cluster_ = meta.cluster
        return self

    def sample(self, n: int, rng: np.random.Generator) -> pd.DataFrame:
        frame = {}
        for name in self.columns_:
            values, p = self.tables_[name]
            p = p if p.sum() > 0 else np.full(len(p), 1 / len(p))
            frame[name] = values[rng.choice(len(values), n, p=p / p.sum())]
        if self.cluster_:
            frame[self.cluster_] = [f"school-{i % 20 + 1:03d}" for i in range(n)]
        return pd.DataFrame(frame)


@pytest.mark.flow
def test_a_registered_toy_method_runs_through_the_flow(tmp_path, prefect_harness, capsys, monkeypatch):
    monkeypatch.setitem(SYNTHESISERS, "toy", f"{__name__}:ToyMarginals")
    import registry.manifest

    source = write_archive(tmp_path / "owner", {"src": make_trial(TrialShape(300, 15), 8)})
    clear_trial(plan_of(source, "src")).to_json(tmp_path / "src.json")
    trial = make_trial(TrialShape(500, 15), 9)
    bounds = {c: list(b) for c, b in public_bounds(trial.columns).items()}  # a DP domain is public
    extra = {"toy-trial": {"method": "toy", "bounds": bounds, "domain": public_domain(trial)}}
    manifest = write_archive(tmp_path, {"toy-trial": trial}, extra=extra)
    raw = yaml.safe_load(manifest.read_text())
    outputs_only = {"id": "toy-outputs", "outputs": ["src.json"], "treatment": "treatment"}
    raw["trials"].append({**outputs_only, "outcomes": ["post_test_1"], "method": "toy"})
    manifest.write_text(yaml.safe_dump(raw))
    parses = []
    parse = registry.manifest.parse_manifest
    monkeypatch.setattr(registry.manifest, "parse_manifest", lambda *a: parses.append(1) or parse(*a))
    url = f"sqlite:///{tmp_path / 'catalogue.db'}"
    out = str(tmp_path / "out")
    run = ["run", "--registry", str(manifest), "--catalogue", url, "--out", out, "--workers", "1"]
    assert main(run) == 0
    assert len(parses) == 1  # the manifest is read once per run
    capsys.readouterr()
    assert main(["catalogue", "--catalogue", url, "--json"]) == 0
    records = {r["trial_id"]: r for r in json.loads(capsys.readouterr().out)}
    record = records["toy-trial"]
    assert record["status"] == "succeeded", record["error"]
    assert record["method"] == "toy" and record["epsilon"] == 0.4  # tuned: the manifest left it open
    assert record["params"]["tuning"] == {"epsilon": 0.4, "rule": "0.4 under the cap", "rows_seen": 500}
    assert record["params"]["accounting"].startswith("(0.4, delta)-DP")
    assert record["params"]["epsilon_newly_spent"] == 0.4 and record["params"]["columns"] == record["n_cols"]
    assert len(pd.read_csv(record["output_path"])) == 500
    outputs_only = records["toy-outputs"]
    assert outputs_only["status"] == "succeeded", outputs_only["error"]
    assert outputs_only["method"] == "toy" and outputs_only["epsilon"] is None
    assert outputs_only["ons_category"] == "valid" and outputs_only["n_rows"] == 300
    assert sorted(ToyMarginals.fits) == ["noise", "outputs"]

    from trialsynth.catalogue.models import EpsilonCharge
    from trialsynth.catalogue.session import sessions_for

    with sessions_for(url)() as session:
        charges = session.scalars(select(EpsilonCharge)).all()
    assert [(c.trial_id, c.epsilon) for c in charges] == [("toy-trial", 0.4)]
