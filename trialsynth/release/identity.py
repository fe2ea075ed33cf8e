"""The release identity of a trial: everything that decides its synthetic file.

Two runs with the same identity would release files of the same making: the same data (the
bytes of its file and of any released outputs), the same plan (roles, public domain, method and
its settings, thresholds, budgets, the trial's seed), and the same code and package versions.
A trial whose identity already has a released file is not synthesised again (status
``unchanged``): a nightly run on an unchanged archive costs seconds and spends no privacy budget.
``--force`` re-releases (a forced private release is charged).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Any

from trialsynth.plan import TrialPlan
from trialsynth.versions import code_version, package_versions


def release_identity(plan: TrialPlan, data_sha256: str | None, outputs_sha256: str | None) -> dict[str, Any]:
    """The identity's parts (stored with the attempt's lineage); ``identity_key`` hashes them."""
    settings = dataclasses.asdict(plan)
    for path_field in ("data_path", "outputs_paths", "problems", "limits"):
        settings.pop(path_field)  # where files are is not what they hold; limits change no file
    return {
        "data_sha256": data_sha256,
        "outputs_sha256": outputs_sha256,
        "plan": settings,
        "code_version": code_version(),
        "packages": package_versions(),
    }


def identity_key(identity: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()
