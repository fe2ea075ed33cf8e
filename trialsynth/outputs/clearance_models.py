"""The analysis models an output checker lets out: each outcome regressed on the treatment and
the baseline covariates, withheld (with the rule that withheld it) when it would disclose."""

from __future__ import annotations

import numpy as np
import pandas as pd

from trialsynth.outputs.regression import fit_model, model_terms, randomised_rows
from trialsynth.outputs.released import ModelOutput, VariableOutput
from trialsynth.outputs.rules import ClearanceRules, Recorder, round_counts


def clear_model(
    cleared: pd.DataFrame,
    variables: dict[str, VariableOutput],
    outcome: str,
    predictor_names: list[str],
    *,
    rules: ClearanceRules,
    record: Recorder,
    source: str,
    randomised_only: bool = False,
) -> ModelOutput | None:
    """``outcome``'s model on ``predictor_names`` as released (coefficients and standard errors
    rounded, the row count to base 5), or None when a rule withholds it (recorded).
    ``randomised_only``: fitted on the rows with an arm (the first predictor, the treatment)."""
    target = variables[outcome]
    if target.kind != "continuous" and len(target.levels or ()) != 2:
        record.withhold(outcome, "model family", "only binary or continuous outcomes are modelled")
        return None
    family = "linear" if target.kind == "continuous" else "logistic"
    predictors = [variables[n] for n in predictor_names if variables[n].n_codes > 1]
    if randomised_only:
        cleared, predictors = randomised_rows(cleared, predictors)
    terms = model_terms(predictors)
    refused = _refused_before_fit(cleared, target, predictors, terms, family, rules)
    if refused is None:
        beta, errors, used, converged = fit_model(cleared, target, predictors, family)
        refused = _refused_after_fit(beta, errors, used - len(terms), converged, rules)
    if refused is not None:
        record.withhold(outcome, *refused)
        return None
    rounded_n = int(round_counts(np.array([float(used)]), rules)[0])
    record.note(f"model for {outcome}: {family}, {len(terms)} coefficients, about {rounded_n} rows")
    record.check(
        "differencing",
        f"model for {outcome}",
        f"row count released rounded to base {rules.count_rounding_base}",
    )
    places = rules.coefficient_decimals
    return ModelOutput(
        outcome=outcome,
        family=family,
        predictors=tuple(p.name for p in predictors),
        terms=tuple(terms),
        coefficients=tuple(round(float(b), places) for b in beta),
        n=rounded_n,
        source=source,
        event=target.levels[1] if family == "logistic" and target.levels else None,
        standard_errors=tuple(max(round(float(e), places), 10.0**-places) for e in errors),
        randomised_only=randomised_only,
    )


def _refused_before_fit(
    cleared: pd.DataFrame,
    target: VariableOutput,
    predictors: list[VariableOutput],
    terms: list[str],
    family: str,
    rules: ClearanceRules,
) -> tuple[str, str] | None:
    """The rule and the reason that withhold a model before it is fitted: class disclosure (a
    logistic model), a saturated model; None when neither applies."""
    if family == "logistic":
        classes = _class_disclosure(cleared, target, predictors)
        if classes:
            names = sorted({c.split(" = ")[0] for c in classes})
            why = f"class disclosure: a category of {', '.join(names)} holds pupils of one outcome only"
            return "class disclosure", why
    used_rows = cleared[[p.name for p in predictors] + [target.name]].dropna()
    keys = pd.util.hash_pandas_object(used_rows[[p.name for p in predictors]], index=False)
    patterns = keys.value_counts()
    if len(patterns) <= len(terms) and int(patterns.min()) < rules.min_cell_count:
        why = (
            f"saturated: {len(patterns)} covariate patterns for {len(terms)} coefficients, "
            f"one of them under {rules.min_cell_count} rows"
        )
        return "saturated model", why
    return None


def _refused_after_fit(
    beta: np.ndarray, errors: np.ndarray, residual_df: int, converged: bool, rules: ClearanceRules
) -> tuple[str, str] | None:
    """The rule and the reason that withhold a fitted model: too few residual degrees of
    freedom, or a fit that did not converge; None when it may be released."""
    if residual_df < rules.min_residual_df:
        return (
            "residual degrees of freedom",
            f"fewer than {rules.min_residual_df} residual degrees of freedom",
        )
    if not converged or not np.all(np.isfinite(beta)) or not np.all(np.isfinite(errors)):
        return "convergence", "the fit did not converge (separation)"
    return None


def _class_disclosure(
    cleared: pd.DataFrame, target: VariableOutput, predictors: list[VariableOutput]
) -> list[str]:
    """Categories of the predictors whose pupils all have one outcome."""
    found = []
    for predictor in predictors:
        if predictor.kind == "categorical":
            levels = pure_levels(cleared, target.name, predictor.name)
            found += [f"{predictor.name} = {level}" for level in levels]
    return found


def pure_levels(cleared: pd.DataFrame, outcome: str, predictor: str) -> list:
    """The levels of ``predictor`` (NaN for its missing values) whose pupils with an outcome all
    have the same one: a logistic coefficient on such a level says what each of them had."""
    both = cleared[[predictor, outcome]].dropna(subset=[outcome])
    outcomes_per_level = both.groupby(predictor, dropna=False, sort=False)[outcome].nunique()
    return [level for level, k in outcomes_per_level.items() if k < 2]
