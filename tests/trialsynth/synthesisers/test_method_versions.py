"""Each method's version (``synthesisers.METHOD_VERSIONS``) and the pipeline's (``run.rules``)
change whenever a file they make changes: a method's file on a tiny seeded trial, and a tiny
trial's released file through ``run_trial``, are hashed and compared with the hashes recorded
in ``method_outputs.json`` under the same versions. A file that changed while its version did
not fails here, naming the bump; a bumped version asks for its new hash to be recorded
(``TRIALSYNTH_RECORD_OUTPUTS=1 pytest tests/trialsynth/synthesisers/test_method_versions.py``).
Hashes recorded under other versions of the packages that compute a file (``FILE_PACKAGES``,
themselves part of the release identity) cannot say whether the method changed: the test is
then skipped until they are recorded again."""

import dataclasses
import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import run_registered, write_archive
from trialsynth.catalogue.queries import latest_attempts
from trialsynth.catalogue.records import as_record
from trialsynth.data.cleaning import clean
from trialsynth.data.surrogate import TrialShape, make_trial
from trialsynth.defaults import RISK_LIMITS
from trialsynth.domain import ColumnDomain, PublicDomain
from trialsynth.dp.noise import PublicNoise
from trialsynth.plan import Roles
from trialsynth.release.identity import FILE_PACKAGES
from trialsynth.run.rules import file_rules
from trialsynth.synthesisers import METHOD_VERSIONS
from trialsynth.versions import package_versions

RECORDED = Path(__file__).with_name("method_outputs.json")
# what the release gate decides a file on (each attack, dcr_share, the school measure, the gate)
GATE_MEASURES = (*RISK_LIMITS, "replicated_uniques", "exact_matches")
RECORD = bool(os.environ.get("TRIALSYNTH_RECORD_OUTPUTS"))
DOMAIN = PublicDomain(
    (
        ColumnDomain("arm", levels=(0, 1), missing=False),
        ColumnDomain("sex", levels=("F", "M"), missing=False),
        ColumnDomain("pre_score", bounds=(0.0, 10.0), missing=False, decimals=1),
        ColumnDomain("post_score", bounds=(0.0, 20.0), missing=True, decimals=1),
    )
)


def _digest(frame: pd.DataFrame) -> str:
    """The file's content in one canonical form (numbers to 6 significant digits)."""
    rounded = frame.apply(lambda c: c.map(lambda v: f"{v:.6g}") if pd.api.types.is_float_dtype(c) else c)
    return hashlib.sha256(rounded.to_csv(index=False).encode()).hexdigest()


def _tiny():
    rng = np.random.default_rng(0)
    n = 400
    arm = rng.integers(0, 2, n)
    pre = np.round(rng.uniform(0, 10, n), 1)
    post = np.round(np.clip(pre + 4 * arm + rng.normal(0, 1, n), 0, 20), 1)
    post[rng.random(n) < 0.1] = np.nan
    frame = pd.DataFrame({"arm": arm, "sex": rng.choice(["F", "M"], n), "pre_score": pre, "post_score": post})
    data, meta = clean(frame, Roles.of(treatment="arm", outcomes=["post_score"]), trial_id="t")
    return data, dataclasses.replace(meta, domain=DOMAIN)


def _cart():
    from trialsynth.synthesisers.cart import CartSynthesiser

    data, meta = _tiny()
    return CartSynthesiser(random_state=1).fit(data, meta).sample(len(data), np.random.default_rng(2))


def _mst():
    from trialsynth.synthesisers.mst import MstSynthesiser

    data, meta = _tiny()
    fitted = MstSynthesiser(epsilon=2.0, iterations=200).fit(
        data, meta, noise=PublicNoise(np.random.default_rng(1))
    )
    return fitted.sample(len(data), np.random.default_rng(2))


def _aim():
    from trialsynth.synthesisers.aim import AimSynthesiser

    data, meta = _tiny()
    fast = {"n_bins": 6, "rounds_per_column": 1, "round_iterations": 20, "final_iterations": 100}
    fitted = AimSynthesiser(epsilon=5.0, **fast).fit(data, meta, noise=PublicNoise(np.random.default_rng(1)))
    return fitted.sample(len(data), np.random.default_rng(2))


def _ea():
    from trialsynth.outputs import clear_outputs
    from trialsynth.synthesisers.ea import EaSynthesiser

    data, meta = _tiny()
    released = clear_outputs(data.dropna().reset_index(drop=True), meta)
    fitted = EaSynthesiser(random_state=1, generations=60).fit_outputs(released)
    return fitted.sample(300, np.random.default_rng(2))


OUTPUTS = {"cart": _cart, "mst": _mst, "aim": _aim, "ea": _ea}


def _pipeline(tmp_path, sessions) -> str:
    """A tiny trial through ``run_trial`` on the CART route under the default risk limits: its
    released file (if the ladder ends in one) with every gate measure it was decided on and the
    remedies tried - cleaning, holdout, school control and labels, the gate and its re-draws,
    the attacks and the ladder, the dropped columns put back."""
    manifest = write_archive(tmp_path, {"mid": make_trial(TrialShape(600, 15), 3)})
    outcome = run_registered(manifest, "mid", tmp_path, sessions)
    with sessions() as session:
        record = as_record(latest_attempts(session, ["mid"])[0])
    metrics = record.get("metrics") or {}
    decided = {
        "status": outcome.status,
        "file": _digest(pd.read_csv(record["output_path"])) if record.get("output_path") else None,
        "measures": {
            k: f"{v:.6g}" for k, v in sorted(metrics.items()) if k in GATE_MEASURES and v is not None
        },
        "remedies": [r["remedy"] for r in (record.get("disclosure") or {}).get("remedies_tried") or []],
    }
    return hashlib.sha256(json.dumps(decided, sort_keys=True).encode()).hexdigest()


def _check(name: str, versions: dict[str, str], digest: str) -> None:
    recorded = json.loads(RECORDED.read_text()) if RECORDED.is_file() else {}
    installed = {p: package_versions().get(p) for p in FILE_PACKAGES}
    entry = {"versions": versions, "packages": installed, "sha256": digest}
    if RECORD:
        recorded[name] = entry
        RECORDED.write_text(json.dumps(recorded, indent=2, sort_keys=True) + "\n")
        return
    if name not in recorded:
        pytest.fail(f"no output recorded for {name}: record it (TRIALSYNTH_RECORD_OUTPUTS=1)")
    was = recorded[name]
    if was["packages"] != installed:
        pytest.skip(f"{name}'s output was recorded under other package versions: record it again")
    if was["versions"] != versions:
        pytest.fail(f"{name}: versions {versions} bumped from {was['versions']}: record its new output")
    assert digest == was["sha256"], (
        f"{name}'s file on the tiny seeded trial changed while its version did not: bump "
        + (
            "run.rules.PIPELINE_VERSION (or the rule that changed)"
            if name == "pipeline"
            else f"METHOD_VERSIONS[{name!r}]"
        )
        + " and record the new output"
    )


@pytest.mark.parametrize("method", sorted(OUTPUTS))
def test_a_methods_file_changes_only_with_its_version(method):
    _check(method, {method: METHOD_VERSIONS[method]}, _digest(OUTPUTS[method]()))


def test_a_released_file_changes_only_with_the_pipelines_or_its_methods_version(tmp_path, sessions):
    versions = {**file_rules(), "cart": METHOD_VERSIONS["cart"]}
    _check("pipeline", versions, _pipeline(tmp_path, sessions))


def test_every_registered_method_declares_a_version():
    from trialsynth.synthesisers import SYNTHESISERS

    assert set(METHOD_VERSIONS) == set(SYNTHESISERS) and all(METHOD_VERSIONS.values())


def test_a_changed_file_under_the_same_version_is_caught(monkeypatch):
    """The check can fail: a digest that differs from the one recorded."""
    recorded = json.loads(RECORDED.read_text())["cart"]
    if recorded["packages"] != {p: package_versions().get(p) for p in FILE_PACKAGES}:
        pytest.skip("recorded under other package versions")
    monkeypatch.setattr(f"{__name__}.RECORD", False)
    with pytest.raises(AssertionError, match=r"bump METHOD_VERSIONS\['cart'\]"):
        _check("cart", {"cart": METHOD_VERSIONS["cart"]}, "0" * 64)
