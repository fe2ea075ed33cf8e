"""The EA's first generation: variables drawn independently from the released proportions
(``init="marginals"``, the paper's start) or, by default (``init="model"``), together from the
released associations (``ea_copula``), and each outcome then drawn from a model calibrated so
that every released model of it holds in expectation (its missingness kept from the copula)."""

from __future__ import annotations

import numpy as np

from trialsynth.outputs.regression import fit_linear, fit_logistic
from trialsynth.synthesisers.ea_layout import Layout
from trialsynth.synthesisers.ea_scoring import ModelGroup, sigmoid


def initial(layout: Layout, init: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One candidate of the first generation: its codes and its continuous values."""
    n_rows, n_variables = layout.n_rows, layout.n_variables
    if init == "marginals" or layout.copula is None:
        codes = layout.draw(np.broadcast_to(np.arange(n_variables), (n_rows, n_variables)), rng)
    else:
        codes = layout.copula.draw(n_rows, rng)
    values = layout.values(codes, rng)
    if init == "marginals":
        return codes, values
    by_outcome: dict[int, list[ModelGroup]] = {}
    for group in layout.groups:
        by_outcome.setdefault(group.outcome, []).append(group)
    for outcome, groups in by_outcome.items():
        variable = layout.variables[outcome]
        eta = joint_predictor(groups, codes, values)
        slot = layout.slot_of[outcome]
        if groups[0].family == "logistic":
            drawn = (rng.random(n_rows) < sigmoid(eta)).astype(np.int16)
        else:
            drawn = _continuous_outcome(variable, eta, values, slot, rng)
        if variable.has_missing:  # missing where the copula (or the released share) says
            if layout.copula is None:
                missing = rng.random(n_rows) < variable.proportions[-1]
            else:
                missing = codes[:, outcome] == variable.n_codes - 1
            drawn = np.where(missing, variable.n_codes - 1, drawn)
            if variable.kind == "continuous":
                values[missing, slot] = 0.0
        codes[:, outcome] = drawn
    return codes, values


def _continuous_outcome(
    variable, eta: np.ndarray, values: np.ndarray, slot: int, rng: np.random.Generator
) -> np.ndarray:
    """A continuous outcome drawn around ``eta`` with the released spread, at the released
    precision; its values go into ``values``' column ``slot`` and its bin codes come back."""
    edges = np.asarray(variable.edges)
    mids = np.asarray(variable.midpoints())
    p = np.asarray(variable.proportions[: len(mids)])
    p = p / p.sum()
    spread = max(np.sum(p * mids**2) - np.sum(p * mids) ** 2 - np.var(eta), 0.05 * np.var(mids))
    drawn_values = np.round(
        np.clip(eta + rng.normal(0.0, np.sqrt(spread), len(eta)), edges[0], edges[-1]),
        variable.decimals,
    )
    values[:, slot] = drawn_values
    return np.clip(np.digitize(drawn_values, edges[1:-1]), 0, len(mids) - 1).astype(np.int16)


def joint_predictor(
    groups: list[ModelGroup], codes: np.ndarray, values: np.ndarray, rounds: int = 8
) -> np.ndarray:
    """One outcome's expected linear predictor, built so that each released model of it
    holds on these covariates in expectation.

    Start from every model's coefficients (a term several models share split between them),
    then repeat: refit each model on the expected outcome (probabilities, or the linear
    predictor) and move its share by the gap to the released coefficients. With one model
    this just re-centres it; with models of one outcome on different predictors (the
    paper's experiment 4) it recovers joint effects the marginal coefficients understate.
    """
    counts: dict[str, int] = {}
    for group in groups:
        for name in group.terms:
            counts[name] = counts.get(name, 0) + 1
    designs = [group.full_design(codes, values) for group in groups]
    shares = [g.anchor / np.array([counts[t] for t in g.terms]) for g in groups]
    family = groups[0].family
    for _ in range(rounds):
        eta = sum(x @ theta for x, theta in zip(designs, shares, strict=True))
        for k, (group, x) in enumerate(zip(groups, designs, strict=True)):
            if family == "logistic":
                fitted = fit_logistic(x, sigmoid(eta), beta=group.anchor, max_iter=8)[0]
            else:
                fitted = fit_linear(x, eta)
            shares[k] = shares[k] + (group.anchor - fitted)
    return sum(x @ theta for x, theta in zip(designs, shares, strict=True))
