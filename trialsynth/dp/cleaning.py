"""A differentially private trial's cleaning: every decision from the plan's public domain,
none from the data (``clean_public``)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from trialsynth.data.design import reference_arm
from trialsynth.domain import PublicDomain, conform, domain_formats, level_codes
from trialsynth.errors import TrialDataError
from trialsynth.meta import DroppedColumn, TrialMeta
from trialsynth.missing import plain
from trialsynth.plan import Roles, TrialPlan


def clean_public(frame: pd.DataFrame, plan: TrialPlan) -> tuple[pd.DataFrame, TrialMeta]:
    """A differentially private trial's cleaning: every decision from the plan's public domain,
    none from the data. The domain's columns are kept, each value mapped on its own
    (``trialsynth.domain.conform``); the manifest's drops stay out; every other column of the
    file is released empty. Nothing real is put back into the released file.

    ``arms`` and ``unrandomised`` are counted for the catalogue's design record and the
    evaluation (secure side); they decide nothing about the release."""
    domain, roles = plan.domain, plan.roles
    if domain is None:
        raise TrialDataError(
            f"trial {plan.trial_id!r}: a differentially private method needs the trial's public "
            "domain: declare it under the key 'domain' or 'codebook'"
        )
    absent = [name for name in domain.names if name not in frame.columns]
    if absent:
        raise TrialDataError(f"trial {plan.trial_id!r}: key 'domain': columns {absent} are not in the data")
    data = conform(frame, domain)
    for column in domain.columns:  # declared labels: each value as its level, or missing
        if not column.continuous and column.levels is not None:
            codes = level_codes(data[column.name], column.levels)
            levels = np.asarray((*column.levels, None), dtype=object)
            data[column.name] = pd.Series(levels[codes], index=data.index, dtype=object)
    for name, (_, places) in domain_formats(domain).items():  # numeric codes stay numbers, as released
        if places >= 0 and not domain.column(name).continuous:
            data[name] = pd.to_numeric(data[name]).astype("float64")
    dropped = _dropped(frame, roles, domain)
    treatment = domain.column(roles.treatment)
    arms_order = (
        list(treatment.levels)
        if treatment.levels is not None
        else sorted(data[roles.treatment].dropna().unique().tolist(), key=str)
    )
    counts = data[roles.treatment].value_counts()
    reference = reference_arm(arms_order, roles.reference_arm)
    if reference is None:  # a declared reference the domain does not list: the default rule
        reference = reference_arm(arms_order)
    ordered = [reference, *(arm for arm in arms_order if arm != reference)] if arms_order else []
    meta = TrialMeta(
        kinds=domain.kinds(),
        treatment=roles.treatment,
        outcomes=roles.outcomes,
        cluster=roles.cluster,
        dropped=tuple(dropped),
        tcap_key=tuple(k for k in roles.tcap_key if k in domain.names),
        tcap_target=roles.tcap_target if roles.tcap_target in domain.names else None,
        original_columns=tuple(frame.columns),
        arms=tuple((plain(arm), int(counts.get(arm, 0))) for arm in ordered),
        unrandomised=int(data[roles.treatment].isna().sum()),
        keys=tuple(k for k in roles.keys if k in domain.names),
        domain=domain,
    )
    return data.reset_index(drop=True), meta


def _dropped(frame: pd.DataFrame, roles: Roles, domain: PublicDomain) -> list[DroppedColumn]:
    """The manifest's drops; every other column outside the domain released empty, but a long
    file's pupil id, restored as fresh ids for the pupils the private rung releases (``dp.units``)."""
    dropped = [DroppedColumn(n, "listed in the manifest's drop") for n in roles.drop if n in frame.columns]
    unit = roles.unit if roles.unit in frame.columns else None
    dropped += [
        DroppedColumn(n, "not in the trial's public domain: released empty", restore="missing")
        for n in frame.columns
        if n not in domain.names and n not in roles.drop and n != unit
    ]
    if unit is not None:  # as text whatever the real ids are: their type is read from the data
        dropped.append(DroppedColumn(unit, "pupil id of a long-format file", restore="units", value="text"))
    return dropped
