"""Scoring a candidate dataset against released regression models without refitting them.

A ``ModelGroup`` holds the released models that share one specification (one per source): the
design of a candidate as lookups on its codes, its residuals and score X'(y - mu), the Newton
step from the released coefficients, and an exact refit for checks. ``score_change`` gives the
change in score a batch of altered rows makes, so a child is scored from its parent's score.
"""

from __future__ import annotations

import numpy as np

from trialsynth.outputs.regression import code_table, fit_linear, fit_logistic, model_terms, select_terms


def sigmoid(eta: np.ndarray) -> np.ndarray:
    """The logistic function, written with tanh so that it never overflows."""
    return 0.5 * (1.0 + np.tanh(0.5 * eta))


class ModelGroup:
    """Released models sharing one specification: a common anchor and one target per source.

    A design row is a lookup on the codes (dummies; for a continuous predictor its missing
    indicator and the released mean standing in for a missing value) plus the continuous
    predictors' own values in their term columns.
    """

    def __init__(self, models, index: dict[str, int], variables: list, value_slot: dict[int, int]):
        first = models[0]
        self.family = first.family
        self.outcome = index[first.outcome]
        self.outcome_slot = value_slot.get(self.outcome)
        self.predictors = np.array([index[p] for p in first.predictors], dtype=np.int64)
        tables, value_terms, column = [], [], 1
        for i in self.predictors:
            table = code_table(variables[i])
            if variables[i].kind == "continuous":
                table = table.copy()
                table[: len(variables[i].edges) - 1, 0] = 0.0  # the value itself comes from `values`
                value_terms.append((value_slot[int(i)], column))
            tables.append(table)
            column += table.shape[1]
        sizes = [t.shape[0] for t in tables]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        self.n_codes = int(sum(sizes))
        full = np.zeros((self.n_codes, column - 1))
        row = col = 0
        for t in tables:
            full[row : row + t.shape[0], col : col + t.shape[1]] = t
            row, col = row + t.shape[0], col + t.shape[1]
        # a source's model may lack a combined level (pooled or absent there): it is its reference
        keep = select_terms(model_terms([variables[i] for i in self.predictors]), first.terms)
        self.n_terms = len(keep)
        self.terms = list(first.terms)
        self.table = full[:, [k - 1 for k in keep[1:]]]
        position = {k: j for j, k in enumerate(keep)}
        value_terms = [(slot, position[col]) for slot, col in value_terms if col in position]
        self.value_slots = np.array([slot for slot, _ in value_terms], dtype=np.int64)
        self.value_columns = np.array([col for _, col in value_terms], dtype=np.int64)
        self.targets = np.array([m.coefficients for m in models], dtype=float)
        if self.targets.shape[1] != self.n_terms:
            raise ValueError(
                f"model for {first.outcome!r}: {self.targets.shape[1]} coefficients, {self.n_terms} terms"
            )
        self.weights = precision_weights(models, self.targets.shape)
        self.anchor = (self.weights * self.targets).sum(axis=0) / self.weights.sum(axis=0)
        self.eta_lookup = self.table @ self.anchor[1:]
        self.value_beta = self.anchor[self.value_columns]
        self.na_code = variables[self.outcome].na_code
        # a model fitted on randomised rows only: a row without an arm has no response in it
        treatment = variables[self.predictors[0]] if first.randomised_only else None
        self.unrandomised = (int(self.predictors[0]), treatment.na_code) if treatment is not None else None
        self.h_inverse = np.eye(self.n_terms)

    def flat(self, codes: np.ndarray) -> np.ndarray:
        return codes[..., self.predictors] + self.offsets

    def eta(self, codes: np.ndarray, values: np.ndarray) -> np.ndarray:
        eta = self.anchor[0] + self.eta_lookup[self.flat(codes)].sum(axis=-1)
        if len(self.value_slots):
            eta = eta + values[..., self.value_slots] @ self.value_beta
        return eta

    def response(self, codes: np.ndarray, values: np.ndarray) -> np.ndarray:
        code = codes[..., self.outcome]
        y = values[..., self.outcome_slot] if self.family == "linear" else (code == 1).astype(float)
        if self.unrandomised is not None and self.unrandomised[1] is not None:
            y = np.where(codes[..., self.unrandomised[0]] == self.unrandomised[1], np.nan, y)
        return np.where(code == self.na_code, np.nan, y) if self.na_code is not None else y

    def residual(self, codes: np.ndarray, values: np.ndarray) -> np.ndarray:
        y = self.response(codes, values)
        eta = self.eta(codes, values)
        mu = sigmoid(eta) if self.family == "logistic" else eta
        return np.where(np.isnan(y), 0.0, np.nan_to_num(y) - mu)

    def score(self, codes: np.ndarray, values: np.ndarray, r: np.ndarray) -> np.ndarray:
        width = len(self.predictors)
        sums = np.bincount(self.flat(codes).ravel(), weights=np.repeat(r, width), minlength=self.n_codes)
        g = np.concatenate([[r.sum()], sums @ self.table])
        if len(self.value_slots):
            g[self.value_columns] += r @ values[:, self.value_slots]
        return g

    def full_design(self, codes: np.ndarray, values: np.ndarray) -> np.ndarray:
        x = np.hstack([np.ones((len(codes), 1)), self.table[self.flat(codes)].sum(axis=1)])
        if len(self.value_slots):
            x[:, self.value_columns] += values[:, self.value_slots]
        return x

    def design(self, codes: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = self.full_design(codes, values)
        y = self.response(codes, values)
        used = ~np.isnan(y)
        return x[used], y[used]

    def refresh(self, codes: np.ndarray, values: np.ndarray) -> None:
        x, _ = self.design(codes, values)
        if self.family == "logistic":
            mu = sigmoid(x @ self.anchor)
            h = (x * (mu * (1 - mu))[:, None]).T @ x
        else:
            h = x.T @ x
        self.h_inverse = np.linalg.pinv(h)

    def exact(self, codes: np.ndarray, values: np.ndarray) -> np.ndarray:
        x, y = self.design(codes, values)
        if self.family == "logistic":
            return fit_logistic(x, y, beta=self.anchor, max_iter=25)[0]
        return fit_linear(x, y)


def precision_weights(models, shape: tuple[int, int]) -> np.ndarray:
    """Per source and coefficient, 1/SE^2 scaled to average 1 over the sources (all ones for one
    source or when a source released no standard errors)."""
    if len(models) < 2 or any(m.standard_errors is None for m in models):
        return np.ones(shape)
    precision = 1.0 / np.square(np.array([m.standard_errors for m in models], dtype=float))
    return precision / precision.mean(axis=0, keepdims=True)


def score_change(group: ModelGroup, owner: np.ndarray, n_children: int, new: tuple, old: tuple) -> np.ndarray:
    """Per child (``owner`` of each altered row), the change in ``group``'s score from replacing
    the ``old`` rows (codes, values, residuals) with the ``new`` ones."""
    width = len(group.predictors)
    base = (owner * group.n_codes)[:, None]
    size = n_children * group.n_codes
    (new_codes, new_values, r_new), (old_codes, old_values, r_old) = new, old
    plus = np.bincount((group.flat(new_codes) + base).ravel(), np.repeat(r_new, width), minlength=size)
    minus = np.bincount((group.flat(old_codes) + base).ravel(), np.repeat(r_old, width), minlength=size)
    intercept = np.bincount(owner, r_new - r_old, minlength=n_children)
    change = np.hstack([intercept[:, None], (plus - minus).reshape(n_children, group.n_codes) @ group.table])
    for slot, column in zip(group.value_slots, group.value_columns, strict=True):
        weights = r_new * new_values[:, slot] - r_old * old_values[:, slot]
        change[:, column] += np.bincount(owner, weights, minlength=n_children)
    return change
