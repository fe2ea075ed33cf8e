"""AIM's workload (step 1 of ``aim``): public, built from the column roles alone, never from the
rows - every two-way marginal, the primary analysis's marginals, and each candidate's weight."""

from __future__ import annotations

import re
from itertools import combinations

from trialsynth.meta import TrialMeta
from trialsynth.synthesisers.aim_rounds import Clique


def pre_test_twin(outcome: str) -> str | None:
    """An outcome's baseline by the demo's naming (``post_test_1`` -> ``pre_test_1``), else None."""
    twin = re.sub(r"(?i)post", "pre", outcome, count=1)
    return twin if twin != outcome else None


def trial_workload(
    columns: list[str],
    meta: TrialMeta,
    *,
    covariates: tuple[str, ...] = (),
    school_covariates: tuple[str, ...] = (),
    weight: float = 1.0,
) -> dict[Clique, float]:
    """The marginals the trial's analysis depends on, each at ``weight`` (see the module doc)."""
    present = set(columns)
    treatment = meta.treatment
    out: dict[Clique, float] = {}
    if treatment not in present:
        return out
    for outcome in meta.outcomes:
        if outcome not in present:
            continue
        baselines = [c for c in covariates if c in present and c not in (treatment, outcome)]
        if not baselines and (twin := pre_test_twin(outcome)) in present:
            baselines = [twin]
        for baseline in baselines:
            out[(treatment, outcome, baseline)] = weight
        if not baselines:
            out[(treatment, outcome)] = weight
        for school in school_covariates:
            if school in present and school != outcome:
                out[(outcome, school)] = weight
    return out


def candidate_weights(workload: dict[Clique, float]) -> dict[Clique, float]:
    """The downward closure of the workload, each marginal r weighted sum_s c_s |r & s|."""
    # in the workload's order (a set's order follows the interpreter's hash seed, and the
    # exponential mechanism's draw reads the candidates' order: the same seed gave other files)
    closure: dict[frozenset[str], None] = {}
    for clique in workload:
        for size in range(1, len(clique) + 1):
            for subset in combinations(clique, size):
                closure.setdefault(frozenset(subset), None)
    sets = {frozenset(s): (s, c) for s, c in workload.items()}
    weights: dict[Clique, float] = {}
    for member in closure:
        ordered = next(s for s in workload if member <= set(s))
        clique = tuple(c for c in ordered if c in member)
        weights[clique] = float(sum(c * len(member & key) for key, (_, c) in sets.items()))
    return weights
