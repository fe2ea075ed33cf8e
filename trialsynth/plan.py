"""The plan of one trial: everything the engine needs to know before it reads a row.

The registry builds one ``TrialPlan`` per trial from the manifest entry and the archive's
defaults (``registry/plans.py``); the engine receives it and never reads a manifest. A plan holds
only public things - paths, column roles, declared metadata, thresholds, policy and method
settings - so it may travel through task parameters and process boundaries.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trialsynth import defaults
from trialsynth.domain import PublicDomain

Bounds = tuple[tuple[str, tuple[float, float]], ...]


def as_bounds(bounds: Mapping[str, Any] | Iterable[Any]) -> Bounds:
    """Public ranges as sorted ``(column, (low, high))`` pairs: hashable, picklable and JSON-able,
    so a plan can be a task or flow parameter."""
    pairs: Iterable[Any] = bounds.items() if isinstance(bounds, Mapping) else bounds
    return tuple(sorted((str(name), (float(low), float(high))) for name, (low, high) in pairs))


@dataclass(frozen=True)
class Roles:
    """What each named column is in the trial's design."""

    treatment: str
    outcomes: tuple[str, ...]
    cluster: str | None = None
    drop: tuple[str, ...] = ()
    categorical: tuple[str, ...] = ()
    tcap_key: tuple[str, ...] = ()
    tcap_target: str | None = None
    continuous: tuple[str, ...] = ()  # numeric measurements, never taken for identifiers
    unit: str | None = None  # long format: the pupil (subject) id of rows repeated per pupil
    keys: tuple[str, ...] = ()  # disclosure key variables (empty: every synthesised column)
    reference_arm: str | int | None = None  # the arm contrasts are taken against (default: a control)
    covariates: tuple[
        str, ...
    ] = ()  # baseline covariates of the primary analysis (default: the pre-test twin)
    school_covariates: tuple[str, ...] = ()  # school-level covariates (weighted in a DP workload)
    randomised: str | None = None  # "school" or "pupil": the level the arm was randomised at (protocol)

    @classmethod
    def of(cls, **fields: Any) -> Roles:
        """Roles from a manifest entry's keys, lists as tuples (``Roles.of(treatment="arm",
        outcomes=["score"])``)."""
        converted: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()}
        return cls(**converted)

    def __post_init__(self) -> None:
        if not self.outcomes:
            raise ValueError("Roles needs at least one outcome (the first is the primary outcome).")
        if self.treatment in self.outcomes:
            raise ValueError(f"The treatment column {self.treatment!r} cannot also be an outcome.")


@dataclass(frozen=True)
class Policy:
    """The archive's routing thresholds, privacy budget and method budgets."""

    small_threshold: int = defaults.SMALL_THRESHOLD
    large_threshold: int = defaults.LARGE_THRESHOLD
    large_method: str = defaults.LARGE_METHOD  # the DP method of the large route (mst | aim)
    small_policy: str = defaults.SMALL_POLICY
    epsilon_cap: float = defaults.EPSILON_CAP
    epsilon_lifetime: float = defaults.EPSILON_LIFETIME
    epsilon_archive_lifetime: float | None = None  # total epsilon over the archive (None: no limit)
    ea_generations: int = defaults.EA_GENERATIONS
    mst_tuning_trials: int = defaults.MST_TUNING_TRIALS
    dp_time_budget: float = defaults.DP_TIME_BUDGET  # seconds of AIM's adaptive rounds
    dp_model_size: float = defaults.DP_MODEL_SIZE  # AIM's junction-tree cap, MB
    missing_values: str = defaults.MISSING_VALUES  # CART's missing-value strategy (MISSING_VALUES_MODES)
    holdout_share: float = (
        defaults.HOLDOUT_SHARE
    )  # real rows kept from the fit (trialsynth.evaluation.holdout)
    private_remedy: bool = defaults.PRIVATE_REMEDY  # the risk ladder's last rung (disclosure.private_remedy)
    dp_rows_per_pupil: int = defaults.DP_ROWS_PER_PUPIL  # a long file's pupil, to that rung (dp.units)
    access_tier: str = defaults.ACCESS_TIER  # who may receive the released file (recorded on approval)
    # the release gate's disclosure limits, as sorted (measure, limit) pairs (hashable)
    risk_limits: tuple[tuple[str, float], ...] = tuple(sorted(defaults.RISK_LIMITS.items()))

    def __post_init__(self) -> None:
        if self.large_method not in defaults.LARGE_METHODS:
            raise ValueError(
                f"large_method must be one of {', '.join(defaults.LARGE_METHODS)}, got {self.large_method!r}"
            )
        if self.small_threshold > self.large_threshold:
            raise ValueError(
                f"small_threshold ({self.small_threshold}) must not exceed "
                f"large_threshold ({self.large_threshold})"
            )
        if not 0 <= self.holdout_share <= 0.5:
            raise ValueError(f"holdout_share must be in [0, 0.5]. Got {self.holdout_share!r} instead.")
        if self.access_tier not in defaults.ACCESS_TIERS:
            raise ValueError(
                f"access_tier must be one of {', '.join(defaults.ACCESS_TIERS)}. "
                f"Got {self.access_tier!r} instead."
            )
        known = set(defaults.RISK_LIMITS)
        unknown = sorted(set(dict(self.risk_limits)) - known)
        if unknown:
            raise ValueError(f"unknown risk limits {unknown}; known: {sorted(known)}")
        if not 1 <= self.dp_rows_per_pupil <= 64:
            raise ValueError(f"dp_rows_per_pupil must be in [1, 64]. Got {self.dp_rows_per_pupil!r} instead.")
        if self.small_policy not in ("ea", "none"):
            raise ValueError(f"small_policy must be 'ea' or 'none'. Got {self.small_policy!r} instead.")


@dataclass(frozen=True)
class Limits:
    """Hard limits per trial; either set runs the trial in its own process."""

    time_s: float | None = None
    memory_mb: int | None = None

    @property
    def isolated(self) -> bool:
        return bool(self.time_s or self.memory_mb)


@dataclass(frozen=True)
class TrialPlan:
    """One trial, planned: built once per run by the registry, read by every stage.

    ``seed`` is the trial's seed (derived from the archive seed and the trial id, stored); every
    random step but DP noise draws from an independent stream of it (``trialsynth.streams``).
    ``domain`` is the public domain a differentially private method works on (``trialsynth.dp``).
    ``entry_sha256`` identifies the manifest entry (lineage and release identity).
    ``problems`` are what the registry found wrong with this trial alone (a missing or unreadable
    data file, a column the file lacks): the trial fails with them, recorded, and the run goes on.
    """

    archive: str
    trial_id: str
    roles: Roles
    seed: int
    data_path: Path | None = None
    outputs_paths: tuple[Path, ...] = ()
    method: str = "auto"
    epsilon: float | None = None
    bounds: Bounds = ()  # (column, (low, high)) pairs, sorted; ``dict(plan.bounds)`` for a mapping
    policy: Policy = field(default_factory=Policy)
    limits: Limits = field(default_factory=Limits)
    entry_sha256: str = ""
    problems: tuple[str, ...] = ()  # found by the registry before the run: the trial fails at once
    domain: PublicDomain | None = None  # the public domain a DP method needs (manifest or codebook)

    def __post_init__(self) -> None:
        object.__setattr__(self, "bounds", as_bounds(self.bounds))
        object.__setattr__(self, "problems", tuple(self.problems))
        object.__setattr__(self, "outputs_paths", tuple(Path(p) for p in self.outputs_paths))
        if self.data_path is not None:
            object.__setattr__(self, "data_path", Path(self.data_path))
        if self.data_path is None and not self.outputs_paths:
            raise ValueError(f"trial {self.trial_id!r}: a plan needs a data file or released outputs")

    @property
    def has_data(self) -> bool:
        return self.data_path is not None

    @property
    def domain_is_public(self) -> bool:
        """False for a domain read from the trial's own rows (a comparison's draft)."""
        return self.domain is None or self.domain.public

    @property
    def released_name(self) -> str:
        """The name the released file's format follows (the data file's, else CSV)."""
        return self.data_path.name if self.data_path is not None else "released.csv"


@dataclass(frozen=True)
class RunContext:
    """Where one run writes: its id, the output directory and a cache of public choices
    (tuning results that depend on nothing private)."""

    run_id: str
    out_dir: Path
    cache_dir: Path
    force: bool = False  # re-synthesise trials whose release identity already has a released file
    comparison: Comparison | None = None  # a comparison of methods (``trialsynth.run.compare``)


@dataclass(frozen=True)
class Comparison:
    """A run that compares methods on one trial: each candidate's attempt carries ``id``, its
    file is written under ``<out_dir>/comparisons/<id>/`` as ``<label>.<ext>`` and never released,
    and a private method's fit is not charged to the epsilon ledger (its file is never released).
    ``settings`` are the candidate's parameters over the plan's (e.g. CART's engine, or what tuning
    chose)."""

    id: str
    label: str
    settings: tuple[tuple[str, Any], ...] = ()
    tuning: dict[str, Any] | None = field(default=None, hash=False)  # how the settings were chosen
