"""What a trial's plan and its cleaned columns must satisfy before any method runs.

Checked twice with the same code: by ``trialsynth validate`` (every trial, every problem listed)
and at the start of a trial's run, right after cleaning and routing, so that nothing knowable from
the manifest and the data's columns fails a trial after minutes of tuning or fitting.
"""

from __future__ import annotations

from trialsynth.errors import TrialDataError
from trialsynth.meta import TrialMeta
from trialsynth.plan import TrialPlan
from trialsynth.synthesisers import capabilities_of, is_private, synthesiser_class
from trialsynth.synthesisers.routing import Route


def route_problems(plan: TrialPlan, meta: TrialMeta, route: Route) -> list[str]:
    """Every problem that stops the routed method, each naming the trial, the key and the column."""
    problems = key_problems(plan, meta)
    if route.method == "none":
        return problems
    method = synthesiser_class(route.method)
    problems += private_problems(plan, route)
    if "from_released_outputs" in capabilities_of(method):
        modelled = [o for o in meta.outcomes if meta.kinds.get(o) in ("binary", "continuous")]
        if not modelled:
            described = ", ".join(f"{o!r} ({meta.kinds.get(o, 'dropped')})" for o in meta.outcomes)
            problems.append(
                f"trial {plan.trial_id!r}: key 'outcomes': the {route.method!r} route releases "
                f"analysis models of binary or continuous outcomes only, and has {described}; "
                "list a binary or continuous outcome, or declare a scored scale under 'continuous'"
            )
    return problems


def private_problems(plan: TrialPlan, route: Route, pupils_bounded: bool = False) -> list[str]:
    """What a differentially private route needs from the plan alone, before the data is cleaned:
    a complete public domain (or ``estimate: true``) holding the trial's roles, and one row per
    pupil (the guarantee protects one row) unless each pupil's rows are bounded for it
    (``pupils_bounded``: the risk ladder's private rung, ``dp.units``)."""
    if not is_private(route.method):
        return []
    where = f"trial {plan.trial_id!r}"
    why = f"the differentially private method {route.method!r} ({route.reason})"
    if plan.domain is None:
        return [
            f"{where}: key 'domain': {why} needs the trial's public domain: declare every column to "
            "synthesise under 'domain: {columns: {name: {levels: [...]} | {bounds: [low, high]}}}' "
            "or in a 'codebook' file (`trialsynth codebook` drafts one from the data for review)"
        ]
    roles = [
        plan.roles.treatment,
        *plan.roles.outcomes,
        *([plan.roles.cluster] if plan.roles.cluster else []),
    ]
    problems = [f"{where}: key 'domain': {p}" for p in plan.domain.problems(required=roles)]
    if plan.roles.unit and not pupils_bounded:
        problems.append(
            f"{where}: key 'unit': {why} protects one row, and a long-format file has several rows "
            "per pupil: synthesise it with cart, or release one row per pupil"
        )
    return problems


def key_problems(plan: TrialPlan, meta: TrialMeta) -> list[str]:
    """Declared disclosure keys must be synthesised columns (not the school label, not dropped)."""
    problems = []
    dropped = {d.name: d.reason for d in meta.dropped}
    for name in plan.roles.keys:
        if name == meta.cluster:
            why = "the school label (released as new labels, never compared)"
        elif name in dropped:
            why = f"dropped by cleaning ({dropped[name]})"
        elif name not in meta.kinds:
            why = "not a synthesised column"
        else:
            continue
        problems.append(f"trial {plan.trial_id!r}: key 'keys': column {name!r} is {why}")
    return problems


def check_private(plan: TrialPlan, route: Route, pupils_bounded: bool = False) -> None:
    problems = private_problems(plan, route, pupils_bounded)
    if problems:
        raise TrialDataError("; ".join(problems))


def check_route(plan: TrialPlan, meta: TrialMeta, route: Route) -> None:
    problems = route_problems(plan, meta, route)
    if problems:
        raise TrialDataError("; ".join(problems))
