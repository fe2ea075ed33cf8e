"""The study's steps for one trial, each a function returning a value.

Every value carries the catalogue fields it settles (``record()``); the pipeline assembles an
attempt's record from the values a trial reached, so a failure keeps everything learnt before it.
Real rows live only inside these values, in memory: ``record()`` returns public fields only.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.orm import sessionmaker

from trialsynth import preflight
from trialsynth.catalogue import ledger
from trialsynth.categories import OUTPUTS_ONLY_CATEGORY, RULES_VERSION, categorise
from trialsynth.cleaning import clean_planned
from trialsynth.errors import MethodNotAvailableError, ReleaseBlockedError
from trialsynth.files import output_path, write_atomically
from trialsynth.loading import load_trial_data
from trialsynth.meta import TrialMeta
from trialsynth.metrics import METRIC_KEYS
from trialsynth.metrics.evaluate import evaluate, format_preserved
from trialsynth.metrics.privacy import matches
from trialsynth.outputs import ReleasedOutputs, combine_outputs
from trialsynth.plan import RunContext, TrialPlan
from trialsynth.restore import restore_dropped
from trialsynth.routing import OUTPUTS_METHOD, Route, route
from trialsynth.streams import Streams
from trialsynth.synthesisers import (
    DifferentiallyPrivate,
    FromReleasedOutputs,
    Synthesiser,
)
from trialsynth.synthesisers.base import Redraws, Tunable, Tuning


@dataclass(frozen=True)
class Cleaned:
    """The trial after Appendix A's cleaning (``data`` holds real rows: never recorded)."""

    data: pd.DataFrame = field(repr=False)
    meta: TrialMeta
    data_hash: str

    def record(self) -> dict[str, Any]:
        meta = self.meta
        cleaning = {
            "dropped": [{"column": d.name, "reason": d.reason, "restored": d.restore} for d in meta.dropped],
            "kinds": meta.kinds,
            "cluster": meta.cluster,
            "repairs": list(meta.repairs),
            "input_sha256": self.data_hash,
            "design": {
                "treatment": meta.treatment,
                "arms": [{"arm": arm, "rows": rows} for arm, rows in meta.arms],
                "reference_arm": meta.reference_arm,
                "unrandomised_rows": meta.unrandomised,
            },
        }
        return {"n_rows": len(self.data), "n_cols": self.data.shape[1], "cleaning": cleaning}


@dataclass(frozen=True)
class Released:
    """The released outputs a trial's entry supplies, several sources combined."""

    outputs: ReleasedOutputs = field(repr=False)
    paths: tuple[Path, ...]
    method: str  # the method that synthesises a trial known only by these outputs

    def record(self) -> dict[str, Any]:
        return {}


@dataclass(frozen=True)
class OutputsOnly:
    """A trial known only by released outputs (no microdata held)."""

    released: Released

    def record(self) -> dict[str, Any]:
        outputs, paths = self.released.outputs, self.released.paths
        return {
            "method": self.released.method,
            "route_reason": f"no microdata: synthesis from the released outputs of {len(paths)} source(s)",
            "n_rows": outputs.n_rows,
            "n_cols": len(outputs.columns) or len(outputs.variables),
            "cleaning": {"input_sha256": _files_hash(paths), "released_outputs": [str(p) for p in paths]},
        }


@dataclass(frozen=True)
class Skipped:
    """Routing chose to release nothing (``small_policy: none``)."""

    def record(self) -> dict[str, Any]:
        return {"status": "skipped", "error": None}


@dataclass(frozen=True)
class Tuned:
    """Settings a tunable method chose without reading private rows (None: nothing tuned)."""

    tuning: Tuning | None

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.tuning.params) if self.tuning else {}

    def record(self) -> dict[str, Any]:
        return {"params": {"tuning": self.tuning.record()}} if self.tuning else {}


@dataclass(frozen=True)
class Fitted:
    """A fitted method, what it records, and the DP release it makes (if it is private)."""

    synthesiser: Synthesiser
    params: dict[str, Any]
    epsilon: float | None = None
    release: ledger.Release | None = None
    released_rows: int | None = None  # fitted from released outputs: the rows they describe

    def record(self) -> dict[str, Any]:
        return {"params": self.params, "epsilon": self.epsilon}


@dataclass(frozen=True)
class Sampled:
    synthetic: pd.DataFrame = field(repr=False)

    def record(self) -> dict[str, Any]:
        return {}


@dataclass(frozen=True)
class Evaluation:
    metrics: dict[str, float | None]

    def record(self) -> dict[str, Any]:
        return {"metrics": self.metrics}


@dataclass(frozen=True)
class Category:
    name: str
    rules: str = RULES_VERSION

    def record(self) -> dict[str, Any]:
        return {"ons_category": self.name, "category_rules": self.rules}


GATE_RULE = "replicated-uniques-v1"
REDRAW_ROUNDS = 8  # rounds of re-drawing flagged rows before the gate blocks the file
REDRAW_LIMIT = 20  # at most this many times the file's rows drawn in all the rounds together
RESAMPLE_SHARE = 0.05  # more flagged rows than this share: the whole file is re-drawn (``redraw``)


@dataclass(frozen=True)
class Gate:
    """The release gate: a synthetic row equal (on the synthesised columns) to a real record that
    is unique in the real data on the key variables discloses that person; such rows are re-drawn
    from the fitted model, every round recorded, and the file is blocked if any remain.

    ``exact_matches`` counts synthetic rows equal to any real record before re-drawing (kept as a
    metric: a combination many real pupils share discloses no one)."""

    keys: tuple[str, ...]
    key_basis: str
    compared: tuple[str, ...]
    real_uniques: int
    exact_matches: int
    replicated_initial: int
    redrawn: tuple[int, ...] = ()
    replicated_uniques: int = 0
    resampled: bool = False  # the whole file re-drawn (smoothed) before the row re-draws

    @property
    def rounds(self) -> str:
        whole = "the whole file re-drawn, then " if self.resampled else ""
        return f"{whole}{_rounds(len(self.redrawn))} of re-drawing"

    @property
    def released(self) -> bool:
        return self.replicated_uniques == 0

    @property
    def reason(self) -> str:
        if not self.released:
            return (
                f"blocked: {self.replicated_uniques} synthetic rows reproduce a real record unique on "
                f"{self.key_basis} after {self.rounds}"
            )
        if self.redrawn or self.resampled:
            return (
                f"released: {self.replicated_initial} synthetic rows reproduced a real record unique on "
                f"{self.key_basis}; re-drawn from the model ({self.rounds}: "
                f"{', '.join(map(str, self.redrawn)) or 0} rows), none remain"
            )
        return f"released: no synthetic row reproduces a real record unique on {self.key_basis}"

    def metrics(self) -> dict[str, float | None]:
        return {"replicated_uniques": self.replicated_uniques, "exact_matches": self.exact_matches}

    def record(self) -> dict[str, Any]:
        return {
            "gate": self.reason,
            "disclosure": {
                "rule": GATE_RULE,
                "keys": list(self.keys),
                "key_basis": self.key_basis,
                "compared_columns": len(self.compared),
                "real_uniques": self.real_uniques,
                "exact_matches": self.exact_matches,
                "replicated_uniques_initial": self.replicated_initial,
                "whole_file_redrawn": self.resampled,
                "redrawn_per_round": list(self.redrawn),
                "replicated_uniques": self.replicated_uniques,
            },
        }

    def enforce(self) -> None:
        if not self.released:
            raise ReleaseBlockedError(f"release {self.reason}")


@dataclass(frozen=True)
class Written:
    path: Path

    def record(self) -> dict[str, Any]:
        return {"status": "succeeded", "output_path": str(self.path.resolve())}


# -- the steps ----------------------------------------------------------------------------------


def read_released(plan: TrialPlan) -> Released | None:
    """The released outputs the plan supplies, several sources combined; None when there are none."""
    if not plan.outputs_paths:
        return None
    outputs = combine_outputs([ReleasedOutputs.from_json(path) for path in plan.outputs_paths])
    return Released(outputs, plan.outputs_paths, outputs_method(plan))


@dataclass(frozen=True)
class Loaded:
    """The trial's file as read (real rows: never recorded) and the SHA-256 of its bytes."""

    frame: pd.DataFrame = field(repr=False)
    data_hash: str

    def record(self) -> dict[str, Any]:
        return {"cleaning": {"input_sha256": self.data_hash}}


def load(plan: TrialPlan) -> Loaded:
    """Read the trial's data file (CSV or Parquet)."""
    assert plan.data_path is not None  # a plan without data takes the outputs-only steps
    frame, data_hash = load_trial_data(plan.data_path, plan.trial_id)
    return Loaded(frame, data_hash)


def clean(loaded: Loaded, plan: TrialPlan) -> Cleaned:
    """Appendix A's cleaning with the plan's column roles."""
    data, meta = clean_planned(loaded.frame, plan)
    return Cleaned(data, meta, loaded.data_hash)


def route_trial(n_rows: int, plan: TrialPlan, released: Released | None) -> Route:
    return route(n_rows, plan.method, plan.policy, outputs_supplied=released is not None)


def check_route(plan: TrialPlan, cleaned: Cleaned, route: Route) -> None:
    """Refuse, before any work, what the routed method cannot take (``trialsynth.preflight``)."""
    preflight.check_route(plan, cleaned.meta, route)


def tune(method: type[Tunable], plan: TrialPlan, cleaned: Cleaned, seed: int, context: RunContext) -> Tuned:
    """Settings a tunable method chooses from public inputs only (the cleaned shape, the plan)."""
    n_rows, n_cols = cleaned.data.shape
    return Tuned(method.tune(plan, n_rows, n_cols, seed=seed, cache_dir=context.cache_dir))


def fit(
    method: type[Synthesiser],
    plan: TrialPlan,
    data: tuple[pd.DataFrame, TrialMeta, str] | None,
    released: Released | None,
    tuned: Tuned,
    streams: Streams,
    sessions: sessionmaker,
) -> Fitted:
    """Build the method from the plan (plus tuned settings and the fit stream's seed), check the
    epsilon ledger before a private fit, and fit: from released outputs when supplied and the
    method can, else from the cleaned data."""
    params = {**method.params_from(plan), **tuned.params, "random_state": streams.seed_of("fit")}
    synthesiser = method(**params)
    source = released.outputs if released is not None else None
    from_outputs = (
        synthesiser if source is not None and isinstance(synthesiser, FromReleasedOutputs) else None
    )
    # a private fit reads the data: the ledger is checked before it and charged on release
    private = synthesiser if isinstance(synthesiser, DifferentiallyPrivate) and from_outputs is None else None
    release, budget = None, {}
    if from_outputs is not None and source is not None:
        from_outputs.fit_outputs(source)
    elif data is None:
        raise MethodNotAvailableError(f"method {method.name!r} cannot synthesise from released outputs alone")
    elif private is not None:
        release = ledger.Release(
            archive=plan.archive,
            trial_id=plan.trial_id,
            epsilon=float(private.epsilon),
            delta=float(private.delta),
            seed=plan.seed,
            data_hash=data[2],
            params=private.get_params(),
        )
        cap, lifetime = plan.policy.epsilon_cap, plan.policy.epsilon_lifetime
        budget = {"epsilon_newly_spent": ledger.check(sessions, release, cap=cap, lifetime=lifetime)}
        private.fit(data[0], data[1], noise=streams.generator("noise"))
    else:
        synthesiser.fit(data[0], data[1])
    record = {**synthesiser.get_params(), **synthesiser.fitted_record(), **budget}
    epsilon = None
    if private is not None:
        record["accounting"] = private.accounting()
        epsilon = private.privacy_spent()["epsilon"]
    released_rows = source.n_rows if from_outputs is not None and source is not None else None
    return Fitted(synthesiser, record, epsilon, release, released_rows)


def sample(fitted: Fitted, cleaned: Cleaned | None, streams: Streams) -> Sampled:
    """As many rows as the real data has (or as the released outputs describe, when the method
    synthesised from them), from the trial's sampling stream."""
    n_rows = fitted.released_rows if fitted.released_rows is not None else len(cleaned.data)  # type: ignore[union-attr]
    return Sampled(fitted.synthesiser.sample(n_rows, streams.generator("sample")))


def output_metrics(fitted: Fitted, synthetic: pd.DataFrame) -> dict[str, float | None]:
    """What a method that synthesises from released outputs measures against them."""
    if isinstance(fitted.synthesiser, FromReleasedOutputs):
        return fitted.synthesiser.output_metrics(synthetic)
    return {}


def evaluate_trial(
    cleaned: Cleaned, sampled: Sampled, fitted: Fitted, streams: Streams, gate: Gate
) -> Evaluation:
    """Table 3's metrics on the file as released (after the gate's re-draws), with the gate's counts."""
    metrics = evaluate(cleaned.data, sampled.synthetic, cleaned.meta, streams.seed_of("evaluate"))
    return Evaluation({**metrics, **gate.metrics(), **output_metrics(fitted, sampled.synthetic)})


def evaluate_outputs_only(fitted: Fitted, sampled: Sampled) -> Evaluation:
    """No microdata to compare with: only what the method measures against its outputs."""
    return Evaluation({**{key: None for key in METRIC_KEYS}, **output_metrics(fitted, sampled.synthetic)})


def categorise_trial(evaluation: Evaluation, cleaned: Cleaned, sampled: Sampled) -> Category:
    cluster = cleaned.meta.cluster
    preserved = format_preserved(cleaned.data, sampled.synthetic, labels=(cluster,) if cluster else ())
    return Category(categorise(evaluation.metrics, format_preserved=preserved))


def outputs_only_category() -> Category:
    return Category(OUTPUTS_ONLY_CATEGORY)


def gate(cleaned: Cleaned, sampled: Sampled, fitted: Fitted, streams: Streams) -> tuple[Gate, Sampled]:
    """The release gate (``Gate``): find synthetic rows that replicate a real unique record,
    re-draw them from the fitted model and check again; block the file if any remain.

    Compared columns: every synthesised column except the school label (new by construction:
    comparing it would let every copied pupil record pass); keys: the manifest's ``keys``, else
    every compared column. Values are compared in one canonical form per column (5, 5.0 and "5"
    alike, numbers at the released precision).

    Re-drawing: ``redraw`` where the method has it (CART: smoothed donors), else ``sample`` (a
    re-drawn row keeps the school label of the row it replaces: labels are per draw). When more
    than ``RESAMPLE_SHARE`` of the rows are flagged, a method with ``redraw`` re-draws the whole
    file first (``bench/gate_remedies.py``: re-drawing 1.5% of a file row by row costs nothing
    measurable, re-drawing 8% or a third of it removes every row near a unique record and
    distorts it - pMSE ratio 3.2 -> 8.7 on Project STAR long - where a whole smoothed draw does
    not). A differentially
    private method is never re-drawn: choosing rows by the real data is not post-processing and
    would leave the guarantee; its file is released or blocked as drawn, and that decision, like
    every gate decision, is made on the real data outside the DP guarantee."""
    meta = cleaned.meta
    compared = [c for c in cleaned.data.columns if c != meta.cluster]
    keys = [k for k in meta.keys if k in compared]
    basis = f"the key variables {keys}" if keys else "every synthesised column"
    synthetic = sampled.synthetic.reset_index(drop=True)
    n = len(synthetic)
    found = matches(cleaned.data, synthetic, compared, keys)
    initial, exact = int(found.replicated.sum()), int(found.exact.sum())
    rng, drawn, resampled = streams.generator("redraw"), 0, False
    redrawn: list[int] = []
    flagged = np.flatnonzero(found.replicated)
    method = fitted.synthesiser
    may_redraw = not isinstance(method, DifferentiallyPrivate)
    if may_redraw and isinstance(method, Redraws) and len(flagged) > RESAMPLE_SHARE * n:
        synthetic, drawn, resampled = method.redraw(n, rng).reset_index(drop=True)[synthetic.columns], n, True
        flagged = np.flatnonzero(matches(cleaned.data, synthetic, compared, keys).replicated)
    draw = method.redraw if isinstance(method, Redraws) else method.sample
    while may_redraw and len(flagged) and len(redrawn) < REDRAW_ROUNDS and drawn < REDRAW_LIMIT * n:
        share_bad = max(len(flagged) / n, 0.05)
        want = min(int(np.ceil(len(flagged) / max(1 - share_bad, 0.05) * 1.5)) + 10, REDRAW_LIMIT * n - drawn)
        fresh = draw(want, rng).reset_index(drop=True)[synthetic.columns]
        drawn += want
        good = fresh.loc[~matches(cleaned.data, fresh, compared, keys).replicated]
        take = min(len(good), len(flagged))
        replace, flagged = flagged[:take], flagged[take:]
        rows = good.iloc[:take].copy()
        if meta.cluster and not isinstance(method, Redraws):
            rows[meta.cluster] = synthetic[meta.cluster].to_numpy()[replace]
        synthetic = _replace_rows(synthetic, replace, rows)
        redrawn.append(take)
    changed = bool(redrawn) or resampled
    remaining = int(matches(cleaned.data, synthetic, compared, keys).replicated.sum()) if changed else initial
    result = Gate(
        keys=tuple(keys),
        key_basis=basis,
        compared=tuple(compared),
        real_uniques=found.real_uniques,
        exact_matches=exact,
        replicated_initial=initial,
        redrawn=tuple(redrawn),
        replicated_uniques=remaining,
        resampled=resampled,
    )
    return result, Sampled(synthetic) if changed else sampled


def _rounds(count: int) -> str:
    return f"{count} round" if count == 1 else f"{count} rounds"


def _replace_rows(frame: pd.DataFrame, positions: np.ndarray, rows: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with the rows at ``positions`` replaced by ``rows``, every other row in place,
    each column's dtype kept where the new values allow it."""
    fresh = rows.set_axis(positions)
    out = pd.concat([frame.drop(index=positions), fresh]).sort_index()
    for name, dtype in frame.dtypes.items():
        try:
            cast = out[name].astype(dtype)
        except (TypeError, ValueError):
            continue  # e.g. a re-drawn missing value in an integer column: the wider dtype stays
        same = (cast.astype("object") == out[name].astype("object")) | (cast.isna() & out[name].isna())
        if bool(same.all()):  # never a value changed by the cast (2.7 -> 2, a new category -> NaN)
            out[name] = cast
    return out


def outputs_only_gate() -> OutputsOnlyGate:
    return OutputsOnlyGate()


@dataclass(frozen=True)
class OutputsOnlyGate:
    """No microdata is held: no real record can be reproduced."""

    def record(self) -> dict[str, Any]:
        return {"gate": "released: no microdata is held, so no real record can be reproduced"}


def write(frame: pd.DataFrame, plan: TrialPlan, context: RunContext) -> Written:
    path = output_path(context.out_dir, plan.archive, plan.trial_id, plan.released_name)
    return Written(write_atomically(frame, path))


def restored(sampled: Sampled, cleaned: Cleaned, streams: Streams) -> pd.DataFrame:
    """The released layout: Appendix A's dropped columns put back."""
    return restore_dropped(sampled.synthetic, cleaned.meta, streams.generator("restore"))


def outputs_method(plan: TrialPlan) -> str:
    """The method that synthesises from a plan's released outputs: the manifest's own choice
    (validated to be able to), else the default route."""
    return plan.method if plan.method not in ("auto", "none") else OUTPUTS_METHOD


def _files_hash(paths: tuple[Path, ...]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(Path(path).read_bytes())
    return digest.hexdigest()
