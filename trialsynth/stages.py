"""The study's steps for one trial, each a function returning a value.

Every value carries the catalogue fields it settles (``record()``); the pipeline assembles an
attempt's record from the values a trial reached, so a failure keeps everything learnt before it.
Real rows live only inside these values, in memory: ``record()`` returns public fields only.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.orm import sessionmaker

from trialsynth.synthesisers import preflight
from trialsynth.catalogue import ledger
from trialsynth.catalogue.queries import released_with_identity
from trialsynth.evaluation.categories import (
    CATEGORIES,
    OUTPUTS_ONLY_CATEGORY,
    RULES_VERSION,
    categorise,
    failed_conditions,
    not_applicable,
    valid_problems,
)
from trialsynth.data.cleaning import clean_planned, clean_public
from trialsynth.dp.noise import SecureNoise
from trialsynth.errors import MethodNotAvailableError, TrialDataError
from trialsynth.data.files import output_path, sha256_of, write_atomically
from trialsynth.evaluation.holdout import holdout_mask
from trialsynth.release.identity import identity_key, release_identity
from trialsynth.data.loading import load_trial_data
from trialsynth.meta import TrialMeta
from trialsynth.evaluation.metrics import ANALYSIS_METRIC_KEYS, ATTACK_METRIC_KEYS, EXTRA_METRIC_KEYS, METRIC_KEYS
from trialsynth.evaluation.metrics.evaluate import assess, format_preserved
from trialsynth.evaluation.metrics.schools import school_disclosure
from trialsynth.evaluation.metrics.trial_analysis import trial_analysis
from trialsynth.outputs import ReleasedOutputs, combine_outputs
from trialsynth.plan import RunContext, TrialPlan
from trialsynth.disclosure.gate import Gate, RiskGate, check_release, check_risks
from trialsynth.reports.aggregates import secure_aggregates
from trialsynth.data.restore import restore_dropped
from trialsynth.synthesisers.routing import OUTPUTS_METHOD, Route, route
from trialsynth.disclosure.schools import SchoolControl, group_schools
from trialsynth.disclosure.schools import assign_schools as deal_schools
from trialsynth.streams import Streams
from trialsynth.synthesisers import (
    DifferentiallyPrivate,
    FromReleasedOutputs,
    Synthesiser,
    capabilities_of,
    is_private,
)
from trialsynth.synthesisers.base import Redraws, Tunable, Tuning

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Cleaned:
    """The trial after Appendix A's cleaning (``data`` holds real rows: never recorded)."""

    data: pd.DataFrame = field(repr=False)
    meta: TrialMeta
    data_hash: str
    covariates: tuple[str, ...] = ()  # declared covariates of the primary analysis

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
class Holdout:
    """Real rows kept from the synthesiser (``trialsynth.evaluation.holdout``): which rows, never the rows."""

    mask: np.ndarray = field(repr=False)  # bool per cleaned row
    share: float
    seen_by_synthesiser: bool  # a method fitted on every row (from outputs cleared for release)

    @property
    def fitted_rows(self) -> int:
        """How many real rows the synthesiser is fitted on."""
        return len(self.mask) - (0 if self.seen_by_synthesiser else int(self.mask.sum()))

    def training(self, data: pd.DataFrame) -> pd.DataFrame:
        """The rows the synthesiser is fitted on."""
        if self.seen_by_synthesiser or not self.mask.any():
            return data
        return data.loc[~self.mask].reset_index(drop=True)

    def record(self) -> dict[str, Any]:
        held = int(self.mask.sum())
        return {
            "lineage": {
                "holdout": {
                    "share": self.share,
                    "rows": held,
                    "fitted_rows": self.fitted_rows,
                    "seen_by_synthesiser": self.seen_by_synthesiser if held else None,
                }
            }
        }


@dataclass(frozen=True)
class Aggregated:
    """What the trial's report may show of the real data (``reports.aggregates``): aggregates
    under the small-cell rule, kept for the report and never recorded in the catalogue; or why
    they could not be computed (the release stands without its report)."""

    aggregates: dict[str, Any] | None = field(default=None, repr=False)
    error: str | None = None

    def record(self) -> dict[str, Any]:
        return {"lineage": {"report_error": self.error}} if self.error else {}


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
class Charge:
    """What a private fit is charged under: the attempt, the release identity, forced or not."""

    attempt_id: int
    identity: Identity
    forced: bool = False
    comparison: bool = False  # a comparison's fit: its file is never released, nothing is charged


@dataclass(frozen=True)
class Sampled:
    synthetic: pd.DataFrame = field(repr=False)

    def record(self) -> dict[str, Any]:
        return {}


@dataclass(frozen=True)
class Evaluation:
    metrics: dict[str, float | None]
    analysis: dict[str, Any] = field(default_factory=dict)  # the trial's analysis, in detail

    def record(self) -> dict[str, Any]:
        return {"metrics": self.metrics, "analysis": self.analysis or None}


@dataclass(frozen=True)
class Category:
    name: str
    rules: str = RULES_VERSION
    why: dict[str, Any] = field(default_factory=dict)  # what failed the next category up

    def record(self) -> dict[str, Any]:
        record: dict[str, Any] = {"ons_category": self.name, "category_rules": self.rules}
        if self.why:
            record["analysis"] = {"category": self.why}
        return record


@dataclass(frozen=True)
class Written:
    path: Path
    sha256: str = ""

    def record(self) -> dict[str, Any]:
        return {
            "status": "succeeded",
            "output_path": str(self.path.resolve()),
            "lineage": {"output_sha256": self.sha256},
        }


@dataclass(frozen=True)
class Unmeasured:
    """A private release was written; measuring it against the real data failed afterwards. The
    release stands: whether it exists must not depend on non-private code reading real rows."""

    reason: str

    def record(self) -> dict[str, Any]:
        return {"error": f"released; measuring the file against the real data failed: {self.reason}"}


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


def file_hash(plan: TrialPlan) -> str:
    """SHA-256 of the trial's data file, without parsing it (the release identity's data part)."""
    assert plan.data_path is not None
    if not plan.data_path.is_file():
        raise TrialDataError(f"trial {plan.trial_id!r}: data file not found: {plan.data_path}")
    return sha256_of(plan.data_path)


def load(plan: TrialPlan) -> Loaded:
    """Read the trial's data file (CSV or Parquet)."""
    assert plan.data_path is not None  # a plan without data takes the outputs-only steps
    frame, data_hash = load_trial_data(plan.data_path, plan.trial_id)
    return Loaded(frame, data_hash)


def clean(loaded: Loaded, plan: TrialPlan, route: Route) -> Cleaned:
    """Appendix A's cleaning with the plan's column roles - or, for a differentially private
    method, the public domain's columns with no decision read from the data (``clean_public``)."""
    if is_private(route.method):
        data, meta = clean_public(loaded.frame, plan)
    else:
        data, meta = clean_planned(loaded.frame, plan)
    return Cleaned(data, meta, loaded.data_hash, plan.roles.covariates)


@dataclass(frozen=True)
class Identity:
    """The trial's release identity (``trialsynth.release.identity``) and its key."""

    parts: dict[str, Any] = field(repr=False)
    key: str

    def record(self) -> dict[str, Any]:
        return {"release_identity": self.key, "lineage": {"release_identity": self.parts}}


def identify(plan: TrialPlan, data_hash: str | None, released: Released | None) -> Identity:
    outputs_hash = _files_hash(released.paths) if released is not None else None
    parts = release_identity(plan, data_hash, outputs_hash)
    return Identity(parts, identity_key(parts))


@dataclass(frozen=True)
class Unchanged:
    """The trial's release identity already has a released file: nothing is synthesised."""

    source: dict[str, Any]

    def record(self) -> dict[str, Any]:
        copied = {key: value for key, value in self.source.items() if key not in ATTEMPT_OWN_FIELDS}
        lineage = {"unchanged_since": {"attempt_id": self.source["id"], "run_id": self.source["run_id"]}}
        return {**copied, "status": "unchanged", "error": None, "lineage": lineage}


# An unchanged attempt copies what the released file's attempt settled about it - every column
# but the attempt's own (its run, times, owner, code, status, error, lineage, identity).
ATTEMPT_OWN_FIELDS = frozenset(
    {
        "id",
        "run_id",
        "archive",
        "trial_id",
        "status",
        "error",
        "seed",
        "started_at",
        "heartbeat_at",
        "owner",
        "finished_at",
        "duration_s",
        "code_version",
        "timings",
        "lineage",
        "release_identity",
    }
)


def unchanged(
    sessions: sessionmaker, plan: TrialPlan, identity: Identity, context: RunContext
) -> Unchanged | None:
    """The released attempt with this identity whose file is still there, byte for byte (None:
    synthesise) - a file another release has since put at the same path is not this one."""
    if context.force or context.comparison is not None:
        return None
    with sessions() as session:
        source = released_with_identity(session, plan.archive, plan.trial_id, identity.key)
    if source is None or not source.get("output_path") or not Path(source["output_path"]).is_file():
        return None
    expected = (source.get("lineage") or {}).get("output_sha256")
    if not expected or sha256_of(Path(source["output_path"])) != expected:
        return None
    return Unchanged(source)


def route_trial(n_rows: int, plan: TrialPlan, released: Released | None) -> Route:
    return route(n_rows, plan.method, plan.policy, outputs_supplied=released is not None)


def check_private(plan: TrialPlan, route: Route) -> None:
    """Refuse a private route without a usable public domain, before the data is cleaned."""
    preflight.check_private(plan, route)


def check_route(plan: TrialPlan, cleaned: Cleaned, route: Route) -> None:
    """Refuse, before any work, what the routed method cannot take (``trialsynth.synthesisers.preflight``)."""
    preflight.check_route(plan, cleaned.meta, route)


def holdout(cleaned: Cleaned, plan: TrialPlan, method: type[Synthesiser], streams: Streams) -> Holdout:
    """The plan's share of real rows, drawn from the ``holdout`` stream, kept from the fit; a
    method that synthesises from cleared outputs is fitted on every row (``trialsynth.evaluation.holdout``)."""
    share = plan.policy.holdout_share
    mask = holdout_mask(len(cleaned.data), share, streams.generator("holdout"))
    return Holdout(mask, share, seen_by_synthesiser="from_released_outputs" in capabilities_of(method))


@dataclass(frozen=True)
class SchoolsControlled:
    """The rows the synthesiser is fitted on, after school-level disclosure control
    (``trialsynth.disclosure.schools``; ``data`` holds real rows: never recorded)."""

    data: pd.DataFrame = field(repr=False)
    control: SchoolControl

    def record(self) -> dict[str, Any]:
        return self.control.record()


def control_schools(cleaned: Cleaned, held: Holdout, method: type[Synthesiser]) -> SchoolsControlled:
    """School-level control on the training rows of a method fitted on rows without a privacy
    guarantee; a differentially private method's guarantee covers schools already (its fit is
    not changed), and a method fitted on cleared outputs never sees a school's values."""
    training = held.training(cleaned.data)
    capabilities = capabilities_of(method)
    if "differentially_private" in capabilities or "from_released_outputs" in capabilities:
        return SchoolsControlled(training, SchoolControl())
    data, control = group_schools(training, cleaned.meta)
    return SchoolsControlled(data, control)


def assign_schools(
    sampled: Sampled, cleaned: Cleaned, controlled: SchoolsControlled, streams: Streams
) -> Sampled:
    """Each group's synthetic rows dealt into its schools (``school_control.assign_schools``)."""
    control = controlled.control
    if not control.applied:
        return sampled
    dealt = deal_schools(sampled.synthetic, cleaned.meta, control, streams.generator("schools"))
    return Sampled(dealt)


@dataclass(frozen=True)
class RiskRedraw:
    """The first draw went over a risk limit; the file was drawn again, whole, smoothed."""

    exceeded: list[str]

    def record(self) -> dict[str, Any]:
        return {
            "disclosure": {
                "first_draw_exceeded": self.exceeded,
                "whole_file_redrawn_for_risk": True,
            }
        }


def resample_smoothed(fitted: Fitted, cleaned: Cleaned, streams: Streams) -> Sampled:
    """The whole file drawn again from the model with smoothed donors (``Redraws.redraw``),
    from the ``resample`` stream: a file that sits too close to its training rows gets one more
    chance before it is blocked (``bench/gate_remedies.py`` measures what smoothing costs)."""
    assert isinstance(fitted.synthesiser, Redraws)
    n_rows = len(cleaned.data)
    return Sampled(fitted.synthesiser.redraw(n_rows, streams.generator("resample")))


@dataclass(frozen=True)
class Settled:
    """Settings a comparison gives a candidate (``plan.Comparison.settings``), in place of tuning."""

    settings: dict[str, Any]
    source: Tuned
    tuning: dict[str, Any] | None = None

    @property
    def params(self) -> dict[str, Any]:
        return {**self.source.params, **self.settings}

    def record(self) -> dict[str, Any]:
        return {"params": {"tuning": self.tuning}} if self.tuning else self.source.record()


def with_settings(tuned: Tuned, context: RunContext) -> Tuned | Settled:
    """``tuned``, with a comparison's settings for the candidate over it."""
    if context.comparison is None or not (context.comparison.settings or context.comparison.tuning):
        return tuned
    return Settled(dict(context.comparison.settings), tuned, context.comparison.tuning)


def tune(
    method: type[Tunable], plan: TrialPlan, cleaned: Cleaned, held: Holdout, seed: int, context: RunContext
) -> Tuned:
    """Settings a tunable method chooses from public inputs only (the shape it is fitted on, the plan)."""
    n_cols = cleaned.data.shape[1]
    return Tuned(method.tune(plan, held.fitted_rows, n_cols, seed=seed, cache_dir=context.cache_dir))


def fit(
    method: type[Synthesiser],
    plan: TrialPlan,
    data: tuple[pd.DataFrame, TrialMeta, str] | None,
    released: Released | None,
    tuned: Tuned | Settled,
    streams: Streams,
    sessions: sessionmaker,
    charge: Charge | None = None,
) -> Fitted:
    """Build the method from the plan (plus tuned settings and the fit stream's seed), reserve
    the budget of a private fit in the epsilon ledger (``charge``: for which attempt and release
    identity), and fit: from released outputs when supplied and the method can, else from the
    cleaned data. A private fit's noise comes from ``SecureNoise``, never from ``streams``."""
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
    elif private is not None and charge is not None and charge.comparison:
        # compared, not released: the file stays with the operator beside the real data's metrics
        budget = {"epsilon_newly_spent": 0.0, "ledger": "not charged: a comparison's file is never released"}
        private.fit(data[0], data[1], noise=SecureNoise())
    elif private is not None:
        assert charge is not None  # a private fit is always charged
        release = ledger.Release(
            archive=plan.archive,
            trial_id=plan.trial_id,
            epsilon=float(private.epsilon),
            delta=float(private.delta),
            identity=charge.identity.key,
            forced=charge.forced,
        )
        limits = ledger.Limits(
            cap=plan.policy.epsilon_cap,
            lifetime=plan.policy.epsilon_lifetime,
            archive_lifetime=plan.policy.epsilon_archive_lifetime,
        )
        # charged in one transaction with the budget check, before any noise is drawn
        budget = {"epsilon_newly_spent": ledger.reserve(sessions, release, charge.attempt_id, limits)}
        private.fit(data[0], data[1], noise=SecureNoise())
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
    cleaned: Cleaned, sampled: Sampled, fitted: Fitted, streams: Streams, gate: Gate, held: Holdout
) -> Evaluation:
    """Table 3's metrics on the file as released (after the gate's re-draws), with the gate's
    counts; utility is tested on the holdout's rows."""
    analysis = partial(trial_analysis, cleaned.data, sampled.synthetic, cleaned.meta, cleaned.covariates)
    metrics, detail = assess(
        cleaned.data, sampled.synthetic, cleaned.meta, streams.seed_of("evaluate"), held.mask, analysis
    )
    schools = school_disclosure(cleaned.data, sampled.synthetic, cleaned.meta)
    measured = {**metrics, **schools, **gate.metrics(), **output_metrics(fitted, sampled.synthetic)}
    return Evaluation(measured, detail)


def risk_gate(evaluation: Evaluation, plan: TrialPlan, fitted: Fitted) -> RiskGate:
    """The file's disclosure measures against the plan's limits (``release_gate.check_risks``)."""
    return check_risks(evaluation.metrics, plan.policy.risk_limits, fitted.synthesiser)


def evaluate_outputs_only(fitted: Fitted, sampled: Sampled) -> Evaluation:
    """No microdata to compare with: only what the method measures against its outputs."""
    empty = dict.fromkeys((*METRIC_KEYS, *ANALYSIS_METRIC_KEYS, *ATTACK_METRIC_KEYS, *EXTRA_METRIC_KEYS))
    return Evaluation({**empty, **output_metrics(fitted, sampled.synthetic)})


def categorise_trial(evaluation: Evaluation, cleaned: Cleaned, sampled: Sampled) -> Category:
    """The category from the metrics, with ``valid``'s own checks and the metrics that do not
    apply to this trial; why it is not higher is recorded with it."""
    meta = cleaned.meta
    labels = (meta.cluster,) if meta.cluster else ()
    preserved = format_preserved(cleaned.data, sampled.synthetic, labels=labels)
    problems = valid_problems(cleaned.data, sampled.synthetic, labels=labels)
    skip = not_applicable(meta, cleaned.data)
    name = categorise(evaluation.metrics, format_preserved=preserved, valid=not problems, not_applicable=skip)
    above = CATEGORIES[CATEGORIES.index(name) + 1] if name in CATEGORIES[1:-1] else None
    why = {
        "not_applicable": skip,
        "valid_problems": problems,
        "next_category": above,
        "next_category_fails": failed_conditions(evaluation.metrics, above, skip) if above else [],
    }
    return Category(name, why=why)


def aggregate(cleaned: Cleaned, sampled: Sampled) -> Aggregated:
    """The report's view of the real data and of the file as released (after the gate); a
    failure is recorded, never a reason to withhold the release."""
    try:
        return Aggregated(secure_aggregates(cleaned.data, sampled.synthetic, cleaned.meta))
    except Exception as exc:  # noqa: BLE001 - the report is lost, not the release
        log.exception("aggregating the report's view failed")
        return Aggregated(error=f"{type(exc).__name__}: {exc}")


def outputs_only_category() -> Category:
    return Category(OUTPUTS_ONLY_CATEGORY)


def gate(
    cleaned: Cleaned,
    sampled: Sampled,
    fitted: Fitted,
    streams: Streams,
    controlled: SchoolsControlled | None = None,
) -> tuple[Gate, Sampled]:
    """The release gate on the first draw (``trialsynth.disclosure.gate``), re-draws from the
    ``redraw`` stream; the file as it will be released comes back with the decision."""
    # rows compared with the real rows as the fit saw them: school-level values as their group's
    real = controlled.control.grouped(cleaned.data, cleaned.meta.cluster) if controlled else cleaned.data
    decision, synthetic = check_release(
        real, sampled.synthetic, cleaned.meta, fitted.synthesiser, streams.generator("redraw")
    )
    return decision, sampled if synthetic is sampled.synthetic else Sampled(synthetic)


def outputs_only_gate() -> OutputsOnlyGate:
    return OutputsOnlyGate()


@dataclass(frozen=True)
class OutputsOnlyGate:
    """No microdata is held: no real record can be reproduced."""

    def record(self) -> dict[str, Any]:
        return {"gate": "released: no microdata is held, so no real record can be reproduced"}


def write(frame: pd.DataFrame, plan: TrialPlan, context: RunContext) -> Written:
    path = output_path(context.out_dir, plan.archive, plan.trial_id, plan.released_name)
    if context.comparison is not None:  # never where a release goes
        comparison = context.comparison
        folder = context.out_dir / "comparisons" / comparison.id / plan.archive / plan.trial_id
        path = folder / f"{comparison.label}{path.suffix}"
    written = write_atomically(frame, path)
    return Written(written, sha256_of(written))


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
