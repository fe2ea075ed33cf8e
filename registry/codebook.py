"""A trial's public domain, from its manifest entry (``domain:``) or the codebook file it names
(``codebook:``, a YAML mapping with the same keys), as the engine's ``PublicDomain``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from pydantic import ValidationError

from registry.manifest import DomainSpec, Manifest, Trial
from trialsynth.data.cleaning import clean_planned
from trialsynth.domain import PublicDomain
from trialsynth.dp.domain import draft_domain
from trialsynth.errors import TrialDataError
from trialsynth.plan import TrialPlan


def load_domain(manifest: Manifest, trial: Trial) -> PublicDomain | None:
    """The trial's public domain (None when it declares none); raises ``TrialDataError`` naming
    the trial, the key and the problem for an unreadable or invalid codebook."""
    spec, source = trial.domain, "manifest"
    path = manifest.codebook_path(trial)
    if path is not None:
        if not path.is_file():
            raise TrialDataError(f"trial {trial.id!r}: key 'codebook': file not found: {path}")
        try:
            raw = yaml.safe_load(path.read_text())
            spec = DomainSpec.model_validate(raw)
        except yaml.YAMLError as exc:
            raise TrialDataError(
                f"trial {trial.id!r}: key 'codebook': {path.name} is not YAML: {exc}"
            ) from None
        except ValidationError as exc:
            details = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg'].removeprefix('Value error, ')}"
                for e in exc.errors()
            )
            raise TrialDataError(f"trial {trial.id!r}: key 'codebook': {path.name}: {details}") from None
        source = str(path)
    if spec is None:
        return None
    return PublicDomain.from_mapping(spec.model_dump(), bounds=trial.bounds, source=source)


DRAFT_HEADER = (
    "# Drafted by `trialsynth codebook` from the trial's own data: the levels, missing states and\n"
    "# precision below were read from the private file. Review them against the trial's data\n"
    "# dictionary, replace bounds with the instruments' published ranges, and only then publish\n"
    "# this file as the trial's codebook: a DP release is only as private as its domain is public.\n"
)


def draft_codebook(frame: pd.DataFrame, plan: TrialPlan) -> dict[str, Any]:
    """A codebook (the ``domain`` mapping) drafted from a trial's data, after Appendix A's
    cleaning: every synthesised column with its kind, levels or bounds (the manifest's bounds
    where given, else the data's range), missing state and precision."""
    data, meta = clean_planned(frame, plan)
    domain = draft_domain(data, meta.kinds, dict(plan.bounds))
    columns = {}
    for name, spec in domain.describe()["columns"].items():
        columns[name] = {key: value for key, value in spec.items() if value is not None}
    return {"columns": columns}


def write_codebook(path: Path, codebook: dict[str, Any], *, header: str = DRAFT_HEADER) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(header + yaml.safe_dump(codebook, sort_keys=False), encoding="utf-8")
    return path
