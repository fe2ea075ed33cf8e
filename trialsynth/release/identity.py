"""The release identity of a trial: everything that decides its synthetic file, and nothing else.

Two runs with the same identity would release files of the same making: the same data (the
bytes of its file and of any released outputs), the same plan (roles, public domain, method and
its settings, thresholds, budgets, the trial's seed), the same version of each method the plan
may use (``synthesisers.METHOD_VERSIONS``: the route is decided by the rows, read later) and of
each rule that shapes a file outside a method (``run.rules``: cleaning, holdout, school control,
the release gate, the risk ladder), and the same versions of the packages that compute a file
(``FILE_PACKAGES``). Not the commit, nor the packages that only orchestrate or store (Prefect,
SQLAlchemy): a deploy that changes a report, a message or the catalogue re-synthesises nothing.
The attempt's lineage still stores the commit and every package version.

A trial whose identity already has a released file is not synthesised again (status
``unchanged``): a nightly run on an unchanged archive costs seconds and spends no privacy budget.
``--force`` re-releases (a forced private release is charged).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy.orm import sessionmaker

from trialsynth.catalogue.attempts import unchanged_record
from trialsynth.catalogue.queries import released_with_identity
from trialsynth.data.files import files_hash, sha256_of
from trialsynth.outputs.supplied import Released
from trialsynth.plan import RunContext, TrialPlan
from trialsynth.synthesisers import METHOD_VERSIONS
from trialsynth.synthesisers.routing import OUTPUTS_METHOD
from trialsynth.versions import package_versions

# the packages whose versions can change a file (optuna tunes MST on a surrogate; the rest of
# ``versions.LINEAGE_PACKAGES`` - the evaluation's, Prefect, SQLAlchemy - only measure,
# orchestrate or store it), and the comparator environment's pins
FILE_PACKAGES = ("numpy", "pandas", "scikit-learn", "scipy", "synthpop-py", "mbi", "jax", "optuna")
COMPARATOR_PINS = Path(__file__).resolve().parents[1] / "comparators" / "requirements.txt"


@cache
def comparator_pins() -> str | None:
    """The SHA-256 of the comparator environment's pins (synthcity, hyperimpute, torch...): the
    packages behind the synthcity methods and CART's ``hyperimpute`` cleaning."""
    return sha256_of(COMPARATOR_PINS) if COMPARATOR_PINS.is_file() else None


def methods_of(plan: TrialPlan) -> dict[str, str]:
    """The version of every method ``plan`` may use: its own, or for ``auto`` every route's (the
    small route's, CART, the large route's, the released outputs' method), and the risk
    ladder's private rung."""
    if plan.method == "auto":
        names = {"cart", plan.policy.large_method, OUTPUTS_METHOD}
        if plan.policy.small_policy != "none":
            names.add(plan.policy.small_policy)
    else:
        names = {plan.method} - {"none"}
    if plan.policy.private_remedy:
        names.add(plan.policy.large_method)
    return {name: METHOD_VERSIONS[name] for name in sorted(names) if name in METHOD_VERSIONS}


def release_identity(
    plan: TrialPlan,
    data_sha256: str | None,
    outputs_sha256: str | None,
    rules: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The identity's parts (stored with the attempt's lineage); ``identity_key`` hashes them.
    ``rules``: the versions of what shapes a file outside its method (``run.rules.file_rules``)."""
    settings = dataclasses.asdict(plan)
    for path_field in ("data_path", "outputs_paths", "problems", "limits"):
        settings.pop(path_field)  # where files are is not what they hold; limits change no file
    packages = package_versions()
    return {
        "data_sha256": data_sha256,
        "outputs_sha256": outputs_sha256,
        "plan": settings,
        "methods": methods_of(plan),
        "rules": dict(rules or {}),
        "packages": {name: packages.get(name) for name in FILE_PACKAGES}
        | {"comparator_environment": comparator_pins()},
    }


def identity_key(identity: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()


@dataclass(frozen=True)
class Identity:
    """The trial's release identity (its parts) and its key."""

    parts: dict[str, Any] = field(repr=False)
    key: str

    def record(self) -> dict[str, Any]:
        return {"release_identity": self.key, "lineage": {"release_identity": self.parts}}


def identify(
    plan: TrialPlan, data_hash: str | None, released: Released | None, rules: dict[str, str]
) -> Identity:
    """The identity of the release ``plan`` would make from data with ``data_hash`` and the
    released outputs supplied (if any), under ``rules``."""
    outputs_hash = files_hash(released.paths) if released is not None else None
    parts = release_identity(plan, data_hash, outputs_hash, rules)
    return Identity(parts, identity_key(parts))


@dataclass(frozen=True)
class Unchanged:
    """The trial's release identity already has a released file: nothing is synthesised."""

    source: dict[str, Any]

    def record(self) -> dict[str, Any]:
        return unchanged_record(self.source)


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
