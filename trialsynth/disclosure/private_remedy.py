"""The last rung of the risk ladder: the file drawn by the archive's differentially private
marginal method (the large route's MST or AIM) over a public domain, its undeclared parts
estimated under DP. Its guarantee covers every row, so no risk limit is read on it
(``risk.check_risks``), and its epsilon is charged to the trial like any private release's.

The domain reads nothing from the data: the file's header less the manifest's drops; each
column's kind as the manifest declares it (``categorical``; ``continuous`` or ``bounds``: a
measurement; the arm and the school: categories); any other column a category. Levels, bounds
the manifest does not give and missing states are estimated under DP with ``ESTIMATE_SHARE`` of
the budget (``dp.domain.complete``). A measurement the manifest does not declare keeps only the
values many pupils share: declare its bounds. A domain the trial declares itself (``domain`` or
``codebook``) is used as it is, with estimation on.

Offered where the archive's policy keeps it (``private_remedy``, on by default). In a
long-format file the guarantee is for a pupil: each gives the method exactly
``dp_rows_per_pupil`` rows (``dp.units``) and the mechanism runs at rho / rows^2 a row (group
privacy, ``dp.accounting``); the file comes back as the real file's pupil count of pupils with
that many rows each.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from trialsynth.data.cleaning import Cleaned
from trialsynth.domain import ColumnDomain, PublicDomain
from trialsynth.dp.units import bounded, secret_generator
from trialsynth.evaluation.holdout import Holdout, hold_out
from trialsynth.plan import TrialPlan
from trialsynth.synthesisers.base import Rung

ESTIMATE_SHARE = 0.2


def private_rung(plan: TrialPlan) -> Rung | None:
    """The ladder's private rung for ``plan``'s trial (None where it is not offered)."""
    if not plan.has_data or not plan.policy.private_remedy:
        return None
    method = plan.policy.large_method
    name = f"{method} under differential privacy over a public domain"
    if plan.roles.unit:
        name += f", each pupil's rows bounded to {plan.policy.dp_rows_per_pupil}"
    return Rung(name, method=method)


def remedy_plan(plan: TrialPlan, header: list[str], rung: Rung) -> TrialPlan:
    """``plan`` as the private rung runs it: its method the rung's, its domain public (see the
    module)."""
    if rung.method is None:
        raise ValueError("remedy_plan: the rung changes no method")
    domain = plan.domain
    if domain is None:
        domain = public_domain(plan, header)
    elif not domain.estimate:
        domain = replace(domain, estimate=True)
    return replace(plan, method=rung.method, domain=domain)


def public_domain(plan: TrialPlan, header: list[str]) -> PublicDomain:
    """Every column of ``header`` the manifest does not drop, its kind as declared (else a
    category), its bounds as declared; the rest left to estimation under DP."""
    roles, bounds = plan.roles, dict(plan.bounds)
    measured = set(roles.continuous) | set(bounds)
    categories = {*roles.categorical, roles.treatment, *([roles.cluster] if roles.cluster else [])}
    columns = []
    for name in header:
        if name in roles.drop or name == roles.unit:  # the pupil id: fresh ids, never synthesised
            continue
        if name in measured and name not in categories:
            columns.append(ColumnDomain(name, kind="continuous", bounds=bounds.get(name), missing=None))
        else:
            columns.append(ColumnDomain(name, kind="categorical", missing=None))
    return PublicDomain(
        tuple(columns), estimate=True, estimate_share=ESTIMATE_SHARE, source="the risk ladder's private rung"
    )


def private_training(cleaned: Cleaned, held: Holdout, plan: TrialPlan) -> tuple[Holdout, pd.DataFrame]:
    """The holdout beside the private rung and the rows it is fitted on: the trial's own; in a
    long file, pupils held out by a secret draw (``dp.units.secret_generator``: held out from
    the stored seed, a pupil's side follows the order of the ids, and replacing one pupil moves
    others across) and each training pupil's rows bounded to ``dp_rows_per_pupil``."""
    units = cleaned.units
    if not plan.roles.unit or units is None:
        return held, held.training(cleaned.data)
    held = hold_out(len(units), held.share, secret_generator(), seen_by_synthesiser=False, units=units)
    rows = np.asarray(held.training_units(units))
    return held, bounded(held.training(cleaned.data), rows, plan.policy.dp_rows_per_pupil)
