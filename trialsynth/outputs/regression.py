"""The analysis models behind released outputs: design matrices, codes and exact fits.

Every variable is held as integer codes (a category, or a histogram bin of a continuous
variable; missing values as the last code). A model's design matrix is built the same way from
real values (for release and for checking a synthetic file) and from codes (inside the EA):

- intercept ``(Intercept)``;
- a categorical predictor: one dummy per level except the first (the reference level, as in
  the paper's table A2), plus ``<name>_NA`` when it has missing values;
- a continuous predictor: its value (a missing value replaced by the released mean) plus the
  indicator ``<name>_missing`` when it has missing values.

A binary outcome is modelled by logistic regression (the second level is the event), a
continuous one by least squares; rows with a missing outcome are left out.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from trialsynth.outputs.released import ModelOutput, VariableOutput

INTERCEPT = "(Intercept)"


def terms_of(variable: VariableOutput) -> list[str]:
    if variable.kind == "categorical":
        names = [f"{variable.name}_{level}" for level in variable.category_levels[1:]]
        return names + ([f"{variable.name}_NA"] if variable.has_missing else [])
    return [variable.name] + ([f"{variable.name}_missing"] if variable.has_missing else [])


def model_terms(predictors: list[VariableOutput]) -> list[str]:
    return [INTERCEPT] + [term for variable in predictors for term in terms_of(variable)]


def select_terms(available: list[str], wanted) -> list[int]:
    """Positions of ``wanted`` terms among ``available`` ones (intercept first in both)."""
    index = {term: i for i, term in enumerate(available)}
    missing = [t for t in wanted if t not in index]
    if missing:
        raise ValueError(f"released terms {missing[:5]} do not match the released variables")
    return [index[t] for t in wanted]


def code_table(variable: VariableOutput) -> np.ndarray:
    """Design-matrix columns of each code of ``variable`` (rows: codes; continuous: bin midpoints)."""
    if variable.kind == "categorical":
        return np.eye(variable.n_codes)[:, 1:]
    values = np.asarray(variable.midpoints(), dtype=float)
    if not variable.has_missing:
        return values[:, None]
    table = np.zeros((variable.n_codes, 2))
    table[:-1, 0] = values
    table[-1] = [variable.fill, 1.0]
    return table


def encode(column: pd.Series, variable: VariableOutput) -> np.ndarray:
    """Integer codes of real or synthetic values (raises on a category the outputs do not know)."""
    missing = column.isna().to_numpy()
    if missing.any() and not variable.has_missing:
        raise ValueError(f"column {variable.name!r} has missing values its released outputs do not allow")
    codes = np.zeros(len(column), dtype=np.int64)
    if variable.kind == "categorical":
        lookup = {_label_key(level): i for i, level in enumerate(variable.category_levels)}
        keys = [_label_key(v) for v in column[~missing]]
        unknown = sorted({k for k in keys if k not in lookup}, key=str)
        if unknown:
            raise ValueError(f"column {variable.name!r}: values {unknown[:5]} are not released levels")
        codes[~missing] = [lookup[k] for k in keys]
    else:
        values = column.to_numpy(dtype=float, na_value=np.nan)[~missing]
        edges = variable.bin_edges
        codes[~missing] = np.clip(np.digitize(values, edges[1:-1]), 0, len(edges) - 2)
    if missing.any():
        codes[missing] = variable.n_codes - 1  # the missing code (has_missing was checked above)
    return codes


def _label_key(value: object) -> object:
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return int(value)
    if isinstance(value, np.integer):
        return int(value)
    return value


def design_matrix(frame: pd.DataFrame, predictors: list[VariableOutput]) -> np.ndarray:
    """The design matrix of real-valued data (continuous predictors at their exact values)."""
    blocks = [np.ones((len(frame), 1))]
    for variable in predictors:
        column = frame[variable.name]
        if variable.kind == "categorical":
            blocks.append(code_table(variable)[encode(column, variable)])
            continue
        values = column.to_numpy(dtype=float, na_value=np.nan)
        missing = np.isnan(values)
        blocks.append(np.where(missing, variable.fill if variable.fill is not None else 0.0, values)[:, None])
        if variable.has_missing:
            blocks.append(missing[:, None].astype(float))
    return np.hstack(blocks)


def response(frame: pd.DataFrame, outcome: VariableOutput, family: str) -> tuple[np.ndarray, np.ndarray]:
    """``(y, used)``: the response and which rows have one."""
    column = frame[outcome.name]
    used = column.notna().to_numpy()
    if family == "logistic":
        y = (encode(column, outcome) == 1).astype(float)
    else:
        y = np.nan_to_num(column.to_numpy(dtype=float, na_value=np.nan))
    return y, used


def fit_logistic(
    x: np.ndarray, y: np.ndarray, beta: np.ndarray | None = None, max_iter: int = 100, tol: float = 1e-10
) -> tuple[np.ndarray, bool]:
    """Logistic-regression MLE by Newton's method (IRLS) with step halving, so that a start far
    from the optimum (a warm start from released coefficients) cannot diverge; returns
    ``(beta, converged)``."""
    beta = np.zeros(x.shape[1]) if beta is None else np.asarray(beta, dtype=float).copy()
    loglik = _log_likelihood(x, y, beta)
    for _ in range(max_iter):
        mu = _sigmoid(x @ beta)
        gradient = x.T @ (y - mu)
        hessian = (x * (mu * (1 - mu))[:, None]).T @ x
        step = np.linalg.lstsq(hessian, gradient, rcond=None)[0]
        for _ in range(30):
            candidate = beta + step
            new = _log_likelihood(x, y, candidate)
            if np.isfinite(new) and new >= loglik - 1e-12 * abs(loglik):
                break
            step = step / 2
        beta, loglik = candidate, new
        if not np.all(np.isfinite(beta)):
            return beta, False
        if np.max(np.abs(step)) < tol * (1 + np.max(np.abs(beta))) or np.max(np.abs(gradient)) < tol:
            return beta, True
    return beta, False


def _log_likelihood(x: np.ndarray, y: np.ndarray, beta: np.ndarray) -> float:
    eta = x @ beta
    return float(np.sum(y * eta - np.logaddexp(0.0, eta)))


def fit_linear(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.linalg.lstsq(x, y, rcond=None)[0]


def _sigmoid(eta: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * eta))


def standard_errors(x: np.ndarray, y: np.ndarray, beta: np.ndarray, family: str) -> np.ndarray:
    """Model-based standard errors: the inverse information (logistic) or s^2 (X'X)^-1 (linear)."""
    if family == "logistic":
        mu = _sigmoid(x @ beta)
        information = (x * (mu * (1 - mu))[:, None]).T @ x
        return np.sqrt(np.diag(np.linalg.pinv(information)))
    residual = y - x @ beta
    scale = residual @ residual / max(len(y) - x.shape[1], 1)
    return np.sqrt(np.diag(np.linalg.pinv(x.T @ x)) * scale)


def fit_model(
    frame: pd.DataFrame, outcome: VariableOutput, predictors: list[VariableOutput], family: str
) -> tuple[np.ndarray, np.ndarray, int, bool]:
    """Fit ``outcome ~ predictors``: ``(coefficients, standard errors, rows used, converged)``."""
    x = design_matrix(frame, predictors)
    y, used = response(frame, outcome, family)
    x, y = x[used], y[used]
    if family == "logistic":
        beta, converged = fit_logistic(x, y)
    else:
        beta, converged = fit_linear(x, y), True
    errors = standard_errors(x, y, beta, family) if converged else np.full(len(beta), np.nan)
    return beta, errors, int(used.sum()), converged


def randomised_rows(
    frame: pd.DataFrame, predictors: list[VariableOutput]
) -> tuple[pd.DataFrame, list[VariableOutput]]:
    """A model's rows and predictors when it is fitted on the rows with an arm only: the rows
    whose first predictor (the treatment) is present, and the treatment without a missing code."""
    treatment = predictors[0]
    kept = frame.loc[frame[treatment.name].notna()]
    return kept, [replace(treatment, has_missing=False), *predictors[1:]]


def refit(frame: pd.DataFrame, model: ModelOutput, variables: dict[str, VariableOutput]) -> np.ndarray:
    """The coefficients ``model``'s specification gives on ``frame`` (e.g. a synthetic file).

    Only the model's own terms enter: a level the model's source did not have (``variables``
    may be several sources' combined metadata) counts as its reference level.
    """
    predictors = [variables[name] for name in model.predictors]
    if model.randomised_only:
        frame, predictors = randomised_rows(frame, predictors)
    keep = select_terms(model_terms(predictors), model.terms)
    x = design_matrix(frame, predictors)[:, keep]
    y, used = response(frame, variables[model.outcome], model.family)
    if model.family == "logistic":
        return fit_logistic(x[used], y[used])[0]
    return fit_linear(x[used], y[used])


def coefficient_mae(frame: pd.DataFrame, models, variables: dict[str, VariableOutput]) -> float:
    """Mean absolute difference between released coefficients and those ``frame`` gives."""
    differences = [
        np.abs(refit(frame, model, variables) - np.asarray(model.coefficients)) for model in models
    ]
    return float(np.mean(np.concatenate(differences))) if differences else float("nan")
