"""What a trial's plan and its cleaned columns must satisfy before any method runs.

Checked twice with the same code: by ``trialsynth validate`` (every trial, every problem listed)
and at the start of a trial's run, right after cleaning and routing, so that nothing knowable from
the manifest and the data's columns fails a trial after minutes of tuning or fitting.
"""

from __future__ import annotations

from trialsynth.errors import TrialDataError
from trialsynth.meta import TrialMeta
from trialsynth.plan import TrialPlan
from trialsynth.routing import Route
from trialsynth.synthesisers import capabilities_of, synthesiser_class


def route_problems(plan: TrialPlan, meta: TrialMeta, route: Route) -> list[str]:
    """Every problem that stops the routed method, each naming the trial, the key and the column."""
    problems = key_problems(plan, meta)
    if route.method == "none":
        return problems
    method = synthesiser_class(route.method)
    if "differentially_private" in capabilities_of(method):
        bounds = dict(plan.bounds)
        for name in meta.of_kind("continuous"):
            if name not in bounds:
                problems.append(
                    f"trial {plan.trial_id!r}: key 'bounds': continuous column {name!r} needs public "
                    f"bounds for the differentially private method {route.method!r} "
                    f"({route.reason}); add bounds: {{{name}: [low, high]}} from its codebook, or "
                    "list it under 'categorical' if it is a coded scale"
                )
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


def check_route(plan: TrialPlan, meta: TrialMeta, route: Route) -> None:
    problems = route_problems(plan, meta, route)
    if problems:
        raise TrialDataError("; ".join(problems))
