"""One trial, end to end: load, clean, route, synthesise, evaluate, categorise, gate, write.

Everything here is Prefect-free. The result returned is a small summary (ids, status, method,
category): no real or synthetic rows ever leave this function except the released file.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from registry.loading import load_trial_data
from registry.manifest import Manifest, load_manifest
from trialsynth import settings
from trialsynth.catalogue import ledger
from trialsynth.catalogue.queries import finish_attempt, heartbeat, start_attempt
from trialsynth.categories import OUTPUTS_ONLY_CATEGORY, RULES_VERSION, categorise
from trialsynth.cleaning import clean, restore_dropped
from trialsynth.errors import ReleaseBlockedError, TrialsynthError
from trialsynth.metrics import METRIC_KEYS
from trialsynth.metrics.evaluate import evaluate, format_preserved
from trialsynth.metrics.privacy import reproduced_records
from trialsynth.output import output_path, write_atomically
from trialsynth.outputs import ReleasedOutputs, combine_outputs
from trialsynth.routing import route
from trialsynth.seeds import derive_seed
from trialsynth.synthesisers import get_synthesiser
from trialsynth.synthesisers.mst_tuning import remembered_tuning
from trialsynth.versions import code_version, package_versions

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrialJob:
    """What one worker needs to process one trial: paths and ids only."""

    registry: str
    trial_id: str
    out_dir: str
    run_id: str


@dataclass
class TrialOutcome:
    trial_id: str
    status: str
    method: str | None = None
    ons_category: str | None = None
    error: str | None = None
    duration_s: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


class _Stopwatch:
    def __init__(self) -> None:
        self.timings: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str):
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = round(time.perf_counter() - start, 3)


def _cleaning_record(meta) -> dict:
    return {
        "dropped": [{"column": d.name, "reason": d.reason, "restored": d.restore} for d in meta.dropped],
        "kinds": meta.kinds,
        "cluster": meta.cluster,
        "repairs": list(meta.repairs),
    }


DEFAULT_EPSILON = 1.0  # the study's choice; typical guidance 0.01-1.1


def _params(method: str, trial, seed: int, defaults=None) -> dict:
    """Synthesiser settings from the manifest entry (the DP ones for ``mst``)."""
    if method == "mst":
        return {
            "random_state": seed,
            "epsilon": trial.epsilon if trial.epsilon is not None else DEFAULT_EPSILON,
            "bounds": {k: tuple(v) for k, v in trial.bounds.items()},
        }
    if method == "ea":
        generations = defaults.ea_generations if defaults is not None else 2000
        return {
            "random_state": seed,
            "generations": generations,
            "bounds": {k: tuple(v) for k, v in trial.bounds.items()},
        }
    return {"random_state": seed}


def _search_record(synthesiser) -> dict:
    """What a synthesis from released outputs adds to the catalogue: the (cleared) outputs it
    read and how the search went."""
    if not hasattr(synthesiser, "outputs_"):
        return {}
    return {"released_outputs": synthesiser.outputs_.summary(), "search": synthesiser.search_summary()}


def _dp_release(manifest: Manifest, trial, seed: int, synthesiser, data_hash: str):
    """The ledger identity of a differentially private synthesiser's release, else None."""
    epsilon = getattr(synthesiser, "epsilon", None)
    if epsilon is None:
        return None
    params = {k: v for k, v in synthesiser.get_params().items() if k != "bin_scheme"}
    return ledger.Release(
        archive=manifest.archive,
        trial_id=trial.id,
        epsilon=float(epsilon),
        delta=float(synthesiser.delta),
        seed=seed,
        data_hash=data_hash,
        params=params,
    )


def run_trial(job: TrialJob, sessions, manifest: Manifest | None = None) -> TrialOutcome:
    """Process one trial and record the attempt in the catalogue; never raises for trial errors."""
    manifest = manifest or load_manifest(job.registry)
    trial = manifest.trial(job.trial_id)
    seed = derive_seed(manifest.defaults.seed, trial.id)
    attempt_id = start_attempt(
        sessions,
        run_id=job.run_id,
        archive=manifest.archive,
        trial_id=trial.id,
        seed=seed,
        code_version=code_version(),
    )
    clock = _Stopwatch()
    started = time.perf_counter()
    record: dict = {"lineage": _lineage(trial)}
    with heartbeat(sessions, attempt_id):
        try:
            if trial.data is None:
                _from_outputs_only(job, manifest, trial, seed, record, clock)
            else:
                _from_data(job, sessions, manifest, trial, seed, attempt_id, record, clock)
        except TrialsynthError as exc:
            record.update(status="failed", error=str(exc))
        except Exception as exc:  # noqa: BLE001 - one trial's failure never stops the archive
            log.exception("trial %s failed unexpectedly", trial.id)
            record.update(status="failed", error=f"{type(exc).__name__}: {exc}")
    return _finish(sessions, attempt_id, trial.id, record, clock, started)


def _lineage(trial) -> dict:
    """What identifies how a file was made, besides data hash, seed, params and code version."""
    entry = json.dumps(trial.model_dump(mode="json"), sort_keys=True)
    return {
        "manifest_entry_sha256": hashlib.sha256(entry.encode()).hexdigest(),
        "packages": package_versions(),
    }


def clean_trial(frame, trial):
    """Appendix A cleaning with the roles the manifest entry ``trial`` gives."""
    return clean(
        frame,
        trial_id=trial.id,
        treatment=trial.treatment,
        outcomes=trial.outcomes,
        cluster=trial.cluster,
        drop=trial.drop,
        categorical=trial.categorical,
        tcap_key=trial.tcap.key if trial.tcap else (),
        tcap_target=trial.tcap.target if trial.tcap else None,
    )


def _released_outputs(manifest: Manifest, trial) -> ReleasedOutputs | None:
    """The released outputs the manifest supplies for ``trial`` (several sources combined)."""
    paths = manifest.outputs_paths(trial)
    if not paths:
        return None
    return combine_outputs([ReleasedOutputs.from_json(path) for path in paths])


def _from_data(job: TrialJob, sessions, manifest: Manifest, trial, seed: int, attempt_id: int, record, clock):
    """A trial whose microdata the archive holds: the full pipeline, evaluated against it."""
    with clock.stage("load"):
        frame, data_hash = load_trial_data(manifest.data_path(trial), trial.id)
    with clock.stage("clean"):
        data, meta = clean_trial(frame, trial)
    del frame
    released = _released_outputs(manifest, trial)
    decision = route(len(data), trial.method, manifest.defaults, outputs_supplied=released is not None)
    record.update(
        method=decision.method,
        route_reason=decision.reason,
        n_rows=len(data),
        n_cols=data.shape[1],
        cleaning={**_cleaning_record(meta), "input_sha256": data_hash},
    )
    if decision.method == "none":
        record.update(status="skipped", error=None)
        return
    params = _params(decision.method, trial, seed, manifest.defaults)
    tuning = None
    if decision.method == "mst" and trial.epsilon is None and manifest.defaults.mst_tuning_trials:
        with clock.stage("tune"):
            tuning = remembered_tuning(
                len(data),
                data.shape[1],
                epsilon_cap=manifest.defaults.epsilon_cap,
                seed=seed,
                n_trials=manifest.defaults.mst_tuning_trials,
                store=settings.home() / "mst-tuning",
            )
        params.update(epsilon=tuning.epsilon, preserve=tuning.preserve, iterations=tuning.iterations)
    synthesiser = get_synthesiser(decision.method, **params)
    release = _dp_release(manifest, trial, seed, synthesiser, data_hash)
    budget = {}
    if release:
        defaults = manifest.defaults
        cap, lifetime = defaults.epsilon_cap, defaults.epsilon_lifetime
        budget = {"epsilon_newly_spent": ledger.check(sessions, release, cap=cap, lifetime=lifetime)}
    with clock.stage("fit"):
        if released is not None and decision.method == "ea":
            synthesiser.fit_outputs(released)
        else:
            synthesiser.fit(data, meta)
    record.update(
        params={
            **synthesiser.get_params(),
            **budget,
            **_search_record(synthesiser),
            **({"tuning": tuning.record()} if tuning else {}),
        },
        epsilon=getattr(synthesiser, "epsilon_spent_", None),
    )
    with clock.stage("sample"):
        n_rows = released.n_rows if released is not None and decision.method == "ea" else len(data)
        synthetic = synthesiser.sample(n_rows, np.random.default_rng(seed))
    with clock.stage("evaluate"):
        metrics = evaluate(data, synthetic, meta, seed)
        if hasattr(synthesiser, "coef_mae"):
            metrics["coef_mae"] = synthesiser.coef_mae(synthetic)
    record.update(
        metrics=metrics,
        category_rules=RULES_VERSION,
        ons_category=categorise(metrics, format_preserved=format_preserved(data, synthetic)),
    )
    with clock.stage("gate"):
        copies = reproduced_records(data, synthetic, ignore=(meta.cluster,) if meta.cluster else ())
    if copies:
        record["gate"] = f"blocked: {copies} synthetic rows reproduce a real record"
        raise ReleaseBlockedError(f"release blocked: {copies} synthetic rows reproduce a real record")
    record["gate"] = "released: no synthetic row reproduces a real record"
    with clock.stage("write"):
        path = output_path(Path(job.out_dir), manifest.archive, trial.id, trial.data)
        write_atomically(restore_dropped(synthetic, meta), path)
    if release:
        ledger.charge(sessions, release, attempt_id)
    record.update(status="succeeded", output_path=str(path.resolve()))


def _from_outputs_only(job: TrialJob, manifest: Manifest, trial, seed: int, record: dict, clock) -> None:
    """A trial known only by released outputs: EA synthesis, no microdata to evaluate against.

    Only ``coef_mae`` can be measured; the category is ``valid`` (see ``categories``) and the
    gate has no real record to compare with.
    """
    paths = manifest.outputs_paths(trial)
    with clock.stage("load"):
        released = _released_outputs(manifest, trial)
    n_sources = len(paths)
    record.update(
        method="ea",
        route_reason=f"no microdata: synthesis from the released outputs of {n_sources} source(s)",
        n_rows=released.n_rows,
        n_cols=len(released.columns) or len(released.variables),
        cleaning={"input_sha256": _files_hash(paths), "released_outputs": [str(p) for p in paths]},
    )
    synthesiser = get_synthesiser("ea", **_params("ea", trial, seed, manifest.defaults))
    with clock.stage("fit"):
        synthesiser.fit_outputs(released)
    record.update(params={**synthesiser.get_params(), **_search_record(synthesiser)})
    with clock.stage("sample"):
        synthetic = synthesiser.sample(released.n_rows, np.random.default_rng(seed))
    with clock.stage("evaluate"):
        metrics = {key: None for key in METRIC_KEYS}
        metrics["coef_mae"] = synthesiser.coef_mae(synthetic)
    record.update(metrics=metrics, category_rules=RULES_VERSION, ons_category=OUTPUTS_ONLY_CATEGORY)
    record["gate"] = "released: no microdata is held, so no real record can be reproduced"
    with clock.stage("write"):
        path = output_path(Path(job.out_dir), manifest.archive, trial.id, "released.csv")
        write_atomically(synthetic, path)
    record.update(status="succeeded", output_path=str(path.resolve()))


def _files_hash(paths) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(Path(path).read_bytes())
    return digest.hexdigest()


def _finish(sessions, attempt_id: int, trial_id: str, record: dict, clock: _Stopwatch, started: float):
    finish_attempt(sessions, attempt_id, timings=clock.timings, **record)
    outcome = TrialOutcome(
        trial_id=trial_id,
        status=record["status"],
        method=record.get("method"),
        ons_category=record.get("ons_category"),
        error=record.get("error"),
        duration_s=round(time.perf_counter() - started, 3),
        timings=clock.timings,
    )
    log.info("trial %s %s (%s) in %.1fs", trial_id, outcome.status, outcome.method, outcome.duration_s)
    return outcome
