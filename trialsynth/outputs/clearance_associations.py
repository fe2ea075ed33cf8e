"""How the variables go together, as an output checker lets it out: a matrix of rank
correlations between every variable (and every variable's missingness), on normal scores.

Each variable becomes a latent column of normal scores: its values (a category by its position
among the sorted levels) ranked, ties at their mid-rank, and mapped through the normal quantile
function; a variable with missing values adds a second column for whether it is missing. The
released matrix holds the Pearson correlations of those columns over the rows where both are
present (a Gaussian copula's correlations, attenuated where the values are coarse), rounded to
``association_decimals``. A file drawn from a Gaussian copula with this matrix and the released
proportions keeps the variables' joint order (pre-test with pre-test, missing with missing).

Disclosure: two discrete columns (a categorical variable, a missingness indicator) give their
cross-table back, or narrow it to a few tables, from the correlation and the released
proportions (a 2x2 table exactly; a 2x3 table to within a few rows), so such a pair is released
only when every cell of their cross-table holds ``min_cell_count`` rows (else it is released as
0, and counted); a correlation over fewer than ``min_cell_count`` rows is 0 too. A pair with a
continuous variable says how its mean moves with the other, over groups of at least the
minimum cell.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from trialsynth.outputs.regression import encode
from trialsynth.outputs.released import VariableOutput
from trialsynth.outputs.rules import ClearanceRules, Recorder

MISSING = "__missing"


def clear_associations(
    cleared: pd.DataFrame,
    variables: dict[str, VariableOutput],
    primary: str,
    rules: ClearanceRules,
    record: Recorder,
) -> tuple[tuple[str, ...], tuple[tuple[float, ...], ...], tuple[tuple[str, tuple[int, ...]], ...]]:
    """The latent columns' names, their released correlation matrix (empty with fewer than two
    columns) and the order of each categorical variable's levels in its latent (``level_order``)."""
    latent: dict[str, pd.Series] = {}
    reference = normal_scores(_positions(cleared[primary], variables[primary]))
    orders = []
    for name, variable in variables.items():
        column = cleared[name]
        positions = _positions(column, variable)
        if variable.kind == "categorical" and len(variable.category_levels) > 2 and name != primary:
            order = level_order(positions, reference, len(variable.category_levels))
            orders.append((name, order))
            positions = positions.map(dict(zip(order, range(len(order)), strict=True)))
        latent[name] = normal_scores(positions)
        if variable.has_missing:
            latent[name + MISSING] = normal_scores(column.isna().astype(float))
    if len(latent) < 2:
        return (), (), ()
    frame = pd.DataFrame(latent)
    matrix = frame.corr(min_periods=rules.min_cell_count).fillna(0.0).to_numpy(copy=True)
    discrete = [n for n in frame.columns if n.endswith(MISSING) or variables[n].kind == "categorical"]
    withheld = 0
    for i, a in enumerate(discrete):
        for b in discrete[i + 1 :]:
            if _smallest_cell(frame[a], frame[b]) < rules.min_cell_count:
                ia, ib = frame.columns.get_loc(a), frame.columns.get_loc(b)
                matrix[ia, ib] = matrix[ib, ia] = 0.0
                withheld += 1
    matrix = np.round(matrix, rules.association_decimals)
    np.fill_diagonal(matrix, 1.0)
    record.check(
        "threshold",
        "associations",
        f"rank correlations of {len(frame.columns)} columns (values and missingness) released to "
        f"{rules.association_decimals} decimals; {withheld} pairs of discrete columns released as 0 "
        f"(a cell of their cross-table under {rules.min_cell_count} rows)",
    )
    return tuple(frame.columns), tuple(tuple(float(x) for x in row) for row in matrix), tuple(orders)


def level_order(positions: pd.Series, reference: pd.Series, n_levels: int) -> tuple[int, ...]:
    """A nominal variable's levels (by position) in the order of the primary outcome's mean
    normal score among their rows (a level without one last): a latent in that order follows
    the outcome, where the sorted levels' order (alphabetical) need not. Only the order is
    released; the outcome's model already ranks the levels by their coefficients."""
    means = reference.groupby(positions).mean()
    ranked = [int(k) for k in means.sort_values(kind="stable").index if not pd.isna(k)]
    return tuple(ranked + [k for k in range(n_levels) if k not in ranked])


def _positions(column: pd.Series, variable: VariableOutput) -> pd.Series:
    """A variable as numbers in its released order: values, or a category's position among the
    levels (missing stays missing)."""
    if variable.kind == "continuous":
        return pd.to_numeric(column, errors="coerce").astype(float)
    codes = encode(column, variable).astype(float)
    return pd.Series(np.where(column.isna().to_numpy(), np.nan, codes), index=column.index)


def normal_scores(values: pd.Series) -> pd.Series:
    """Mid-ranks of the present values mapped through the normal quantile function."""
    present = values.notna()
    ranks = values[present].rank(method="average")
    scores = pd.Series(np.nan, index=values.index)
    scores[present] = stats.norm.ppf((ranks - 0.5) / present.sum())
    return scores


def _smallest_cell(a: pd.Series, b: pd.Series) -> int:
    """The smallest cell of the cross-table of two discrete columns over the rows where both are
    present (0 when a combination of their values is empty)."""
    both = pd.DataFrame({"a": a, "b": b}).dropna().to_numpy()
    if not len(both):
        return 0
    _, x = np.unique(both[:, 0], return_inverse=True)
    levels_b, y = np.unique(both[:, 1], return_inverse=True)
    size = (x.max() + 1) * len(levels_b)
    return int(np.bincount(x.ravel() * len(levels_b) + y.ravel(), minlength=size).min())
