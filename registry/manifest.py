"""The YAML manifest of an archive, as a pydantic schema (unknown keys are errors)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from trialsynth import defaults as default
from trialsynth.errors import RegistryError
from trialsynth.synthesisers import SYNTHESISERS, capabilities_of, method_names, synthesiser_class


def methods_from_outputs() -> tuple[str, ...]:
    """The registered methods that can synthesise from released outputs alone."""
    return tuple(
        name
        for name in sorted(SYNTHESISERS)
        if "from_released_outputs" in capabilities_of(synthesiser_class(name))
    )


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RegistryDefaults(_Strict):
    small_threshold: int = Field(default.SMALL_THRESHOLD, ge=1)
    large_threshold: int = Field(default.LARGE_THRESHOLD, ge=1)
    small_policy: Literal["ea", "none"] = default.SMALL_POLICY  # type: ignore[assignment]
    large_method: Literal["mst", "aim"] = default.LARGE_METHOD  # type: ignore[assignment]
    seed: int = default.ARCHIVE_SEED
    epsilon_cap: float = Field(default.EPSILON_CAP, gt=0)
    epsilon_lifetime: float = Field(default.EPSILON_LIFETIME, gt=0)
    epsilon_archive_lifetime: float | None = Field(None, gt=0)  # total over the archive (None: no limit)
    ea_generations: int = Field(default.EA_GENERATIONS, ge=1)
    mst_tuning_trials: int = Field(default.MST_TUNING_TRIALS, ge=0)
    dp_time_budget: float = Field(default.DP_TIME_BUDGET, gt=0)  # seconds of AIM's adaptive rounds
    dp_model_size: float = Field(default.DP_MODEL_SIZE, gt=0)  # AIM's junction-tree cap, MB
    # CART's missing numeric values: native | indicator (IterativeImputer) | hyperimpute
    missing_values: Literal["native", "indicator", "hyperimpute"] = default.MISSING_VALUES  # type: ignore[assignment]
    # share of real rows kept from the synthesiser to test utility on (trialsynth.evaluation.holdout); 0: none
    holdout_share: float = Field(default.HOLDOUT_SHARE, ge=0, le=0.5)
    # a file over a risk limit after its method's remedies: drawn by the DP method (false: blocked)
    private_remedy: bool = default.PRIVATE_REMEDY
    # rows each pupil of a long-format file gives that DP method, exactly (its noise grows with it)
    dp_rows_per_pupil: int = Field(default.DP_ROWS_PER_PUPIL, ge=1, le=64)
    access_tier: Literal["accredited", "safeguarded"] = default.ACCESS_TIER  # type: ignore[assignment]
    # the release gate's disclosure limits (``trialsynth.defaults.RISK_LIMITS``); any subset
    risk_limits: dict[str, float] = {}
    trial_time_limit_s: float | None = Field(None, gt=0)  # set: each trial in its own process, killed after
    trial_memory_limit_mb: int | None = Field(None, gt=0)  # set: each trial in its own process, capped

    @field_validator("risk_limits")
    @classmethod
    def _risk_limits_known(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(value) - set(default.RISK_LIMITS))
        if unknown:
            raise ValueError(
                f"unknown risk limit {', '.join(unknown)} (known: {', '.join(default.RISK_LIMITS)})"
            )
        for name, limit in value.items():
            if not 0 <= limit <= 1:
                raise ValueError(f"risk limit {name} must be in [0, 1], got {limit}")
        return value

    @model_validator(mode="after")
    def _thresholds_ordered(self) -> RegistryDefaults:
        if self.small_threshold > self.large_threshold:
            raise ValueError(
                f"small_threshold ({self.small_threshold}) must not exceed "
                f"large_threshold ({self.large_threshold})"
            )
        return self


class TcapSpec(_Strict):
    key: list[str] = Field(min_length=1)
    target: str


class ColumnSpec(_Strict):
    """One column of a public domain (``trialsynth.domain.ColumnDomain``)."""

    kind: Literal["binary", "categorical", "continuous"] | None = None
    levels: list[bool | int | float | str] | None = Field(None, min_length=1)
    bounds: tuple[float, float] | None = None
    missing: bool | None = True  # null: estimated under DP (with estimate: true)
    decimals: int | None = Field(None, ge=0, le=6)

    @model_validator(mode="after")
    def _consistent(self) -> ColumnSpec:
        if self.bounds is not None and not self.bounds[0] < self.bounds[1]:
            raise ValueError(f"bounds must be [low, high] with low < high, got {list(self.bounds)}")
        if self.levels is not None and self.bounds is not None:
            raise ValueError("give levels (a categorical column) or bounds (a continuous one), not both")
        if self.kind == "continuous" and self.levels is not None:
            raise ValueError("a continuous column has bounds, not levels")
        if self.kind in ("binary", "categorical") and self.bounds is not None:
            raise ValueError(f"a {self.kind} column has levels, not bounds")
        return self


class DomainSpec(_Strict):
    """A trial's public domain: every column a DP method synthesises, and the policy for what is
    not declared (``estimate``: under DP, with ``estimate_share`` of the budget)."""

    columns: dict[str, ColumnSpec] = Field(min_length=1)
    estimate: bool = False
    estimate_share: float = Field(0.1, gt=0, lt=1)


class Trial(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    data: str | None = None
    outputs: list[str] = []  # released outputs (JSON from `trialsynth clear`): synthesise from these
    treatment: str
    outcomes: list[str] = Field(min_length=1)
    cluster: str | None = None
    drop: list[str] = []
    categorical: list[str] = []  # also integer-coded ordinal scales (Likert items, bands): no bounds needed
    continuous: list[str] = []  # numeric measurements that must not be taken for identifiers
    unit: str | None = None  # long format: the pupil id of rows repeated per pupil (never synthesised)
    keys: list[str] = []  # disclosure key variables for the release gate (default: every column)
    reference_arm: str | int | None = None  # the arm contrasts are against (default: a control)
    covariates: list[str] = []  # baseline covariates of the primary analysis (default: the pre-test twin)
    school_covariates: list[str] = []  # school-level covariates: a DP workload weighs outcome x each
    randomised: Literal["school", "pupil"] | None = None  # the level the arm was randomised at
    tcap: TcapSpec | None = None
    method: str = "auto"  # auto | none | a registered method (``trialsynth.synthesisers``)
    epsilon: float | None = Field(None, gt=0)
    bounds: dict[str, tuple[float, float]] = {}
    domain: DomainSpec | None = None  # the public domain of a DP release (or in a codebook file)
    codebook: str | None = None  # YAML file holding the domain (same keys as ``domain``)
    access_tier: Literal["accredited", "safeguarded"] | None = None  # default: the archive's

    @field_validator("bounds")
    @classmethod
    def _bounds_ordered(cls, value: dict[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
        for name, (low, high) in value.items():
            if not low < high:
                raise ValueError(
                    f"bounds of {name!r} must be [low, high] with low < high, got [{low}, {high}]"
                )
        return value

    @field_validator("method")
    @classmethod
    def _method_known(cls, value: str) -> str:
        names = method_names()
        if value not in names:
            raise ValueError(
                f"method {value!r} is not available in this installation (choose from: {', '.join(names)})"
            )
        return value

    @field_validator("data")
    @classmethod
    def _data_format(cls, value: str | None) -> str | None:
        if value is not None and not value.lower().endswith((".csv", ".parquet", ".pq")):
            raise ValueError(f"data must be a .csv or .parquet file, got {value!r}")
        return value

    @field_validator("outputs")
    @classmethod
    def _outputs_format(cls, value: list[str]) -> list[str]:
        for name in value:
            if not name.lower().endswith(".json"):
                raise ValueError(
                    f"released outputs must be .json files (from `trialsynth clear`), got {name!r}"
                )
        return value

    @model_validator(mode="after")
    def _one_domain(self) -> Trial:
        if self.domain is not None and self.codebook is not None:
            raise ValueError("give the public domain inline (domain) or in a file (codebook), not both")
        return self

    @model_validator(mode="after")
    def _data_or_outputs(self) -> Trial:
        if self.data is None and not self.outputs:
            raise ValueError("give data (the trial's file) or outputs (released outputs), or both")
        if self.data is None and self.method != "auto" and self.method not in methods_from_outputs():
            raise ValueError(
                f"method {self.method!r} needs the trial's data; a trial with released outputs only "
                f"can be synthesised by: {', '.join(methods_from_outputs())}"
            )
        return self

    def referenced_columns(self) -> dict[str, list[str]]:
        """Every manifest key that names columns, with the columns it names."""
        refs = {
            "treatment": [self.treatment],
            "outcomes": list(self.outcomes),
            "drop": list(self.drop),
            "categorical": list(self.categorical),
        }
        if self.cluster:
            refs["cluster"] = [self.cluster]
        if self.bounds:
            refs["bounds"] = list(self.bounds)
        if self.continuous:
            refs["continuous"] = list(self.continuous)
        if self.unit:
            refs["unit"] = [self.unit]
        if self.keys:
            refs["keys"] = list(self.keys)
        if self.covariates:
            refs["covariates"] = list(self.covariates)
        if self.school_covariates:
            refs["school_covariates"] = list(self.school_covariates)
        if self.domain is not None:
            refs["domain"] = list(self.domain.columns)
        if self.tcap:
            refs["tcap.key"] = list(self.tcap.key)
            refs["tcap.target"] = [self.tcap.target]
        return refs


class Manifest(_Strict):
    archive: str = Field(min_length=1)
    defaults: RegistryDefaults = RegistryDefaults()
    trials: list[Trial] = Field(min_length=1)
    base_dir: Path = Field(Path("."), exclude=True)

    def trial(self, trial_id: str) -> Trial:
        for trial in self.trials:
            if trial.id == trial_id:
                return trial
        known = ", ".join(t.id for t in self.trials)
        raise RegistryError([f"unknown trial {trial_id!r}; the registry has: {known}"])

    def data_path(self, trial: Trial) -> Path | None:
        return (self.base_dir / trial.data).resolve() if trial.data else None

    def codebook_path(self, trial: Trial) -> Path | None:
        return (self.base_dir / trial.codebook).resolve() if trial.codebook else None

    def outputs_paths(self, trial: Trial) -> list[Path]:
        return [(self.base_dir / name).resolve() for name in trial.outputs]

    def largest_first(self, trial_ids: list[str]) -> list[str]:
        """``trial_ids`` by the bytes of their input files, largest first (ties by id): on a
        pool of workers the long trials start first and the short ones fill in around them,
        instead of one long trial running alone at the end."""

        def size(trial_id: str) -> int:
            trial = self.trial(trial_id)
            paths = [self.data_path(trial), *self.outputs_paths(trial)]
            return sum(p.stat().st_size for p in paths if p is not None and p.exists())

        return sorted(trial_ids, key=lambda t: (-size(t), t))


def _describe(error: dict, raw: dict) -> str:
    loc = list(error["loc"])
    where = "manifest"
    if len(loc) >= 2 and loc[0] == "trials" and isinstance(loc[1], int):
        trials = raw.get("trials") or []
        entry = trials[loc[1]] if loc[1] < len(trials) else {}
        trial_id = entry.get("id", f"#{loc[1] + 1}") if isinstance(entry, dict) else f"#{loc[1]}"
        where = f"trial {trial_id!r}"
        loc = loc[2:]
    key = ".".join(str(part) for part in loc) or "(entry)"
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = "unknown key"
    return f"{where}: key {key!r}: {message}"


def parse_manifest(raw: object, base_dir: Path) -> Manifest:
    """Build a Manifest from parsed YAML, listing every schema problem at once."""
    if not isinstance(raw, dict):
        raise RegistryError(["manifest: the top level must be a mapping with 'archive' and 'trials'"])
    try:
        manifest = Manifest.model_validate({**raw, "base_dir": base_dir})
    except ValidationError as exc:
        raise RegistryError([_describe(e, raw) for e in exc.errors()]) from None
    seen: set[str] = set()
    duplicates = []
    for trial in manifest.trials:
        if trial.id in seen:
            duplicates.append(f"trial {trial.id!r}: key 'id': duplicate trial id")
        seen.add(trial.id)
    if duplicates:
        raise RegistryError(duplicates)
    return manifest


def load_manifest(path: str | Path) -> Manifest:
    """Read and schema-check a manifest file; data files are checked by ``validate_registry``."""
    path = Path(path)
    if not path.is_file():
        raise RegistryError([f"manifest: file not found: {path}"])
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise RegistryError([f"manifest: not valid YAML: {exc}"]) from None
    return parse_manifest(raw, path.parent.resolve())
