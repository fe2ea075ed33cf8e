"""Output clearance: the analytical outputs a data owner would let out of a secure environment.

From a cleaned trial this produces, and records the rules it applied:

- **metadata** for every variable except the school identifier: categories (or, for a
  continuous variable, a histogram) with proportions;
- the trial's **analysis models**: each outcome regressed on the treatment and the baseline
  covariates (every other column except outcomes and the school), logistic for a binary outcome,
  linear for a continuous one, reference levels first-sorted as in the paper's table A2 (the
  treatment's reference: its reference arm), with coefficients and their standard errors (as a
  regression table is released);
- the school sizes, for the released file's cluster labels.

Statistical disclosure rules (``ClearanceRules``, stored with the outputs):

- **minimum cell count** (10): a category with fewer rows is pooled into the most frequent one;
  a histogram bin with fewer rows is merged with its smaller neighbour; a missing-value cell
  with fewer rows is not released (those values count as the modal category or the mean);
- **top/bottom coding**: without public ``bounds`` a continuous variable's histogram spans its
  0.5%-99.5% quantiles rounded outward, so no single extreme value is published;
- **rounding**: counts behind proportions to base 5, coefficients and standard errors to 4
  decimal places, means to 3 significant figures, school sizes to base 5;
- **residual degrees of freedom**: a model is released only with at least 10 (rows minus
  coefficients), a converged fit and finite coefficients; otherwise it is withheld with a reason.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from trialsynth.errors import TrialDataError
from trialsynth.meta import TrialMeta
from trialsynth.missing import plain
from trialsynth.outputs.regression import fit_model, model_terms
from trialsynth.outputs.released import ModelOutput, ReleasedOutputs, VariableOutput


@dataclass(frozen=True)
class ClearanceRules:
    min_cell_count: int = 10
    count_rounding_base: int = 5
    coefficient_decimals: int = 4
    mean_significant_figures: int = 3
    min_residual_df: int = 10
    histogram_bins: int = 40
    tail_quantile: float = 0.005


def clear_outputs(
    data: pd.DataFrame,
    meta: TrialMeta,
    *,
    rules: ClearanceRules | None = None,
    bounds: dict[str, tuple[float, float]] | None = None,
    source: str = "",
) -> ReleasedOutputs:
    """The cleared outputs of one cleaned trial (see the module docstring for the rules)."""
    rules = rules or ClearanceRules()
    bounds = bounds or {}
    log: list[str] = []
    cleared = pd.DataFrame(index=data.index)
    variables: dict[str, VariableOutput] = {}
    for name in data.columns:
        if name == meta.cluster:
            continue
        if meta.kinds[name] == "continuous":
            variables[name], cleared[name] = _clear_continuous(data[name], rules, bounds.get(name), log)
        else:
            first = meta.reference_arm if name == meta.treatment else None
            variables[name], cleared[name] = _clear_categorical(data[name], rules, log, first)
    models = []
    covariates = [n for n in variables if n not in meta.outcomes and n != meta.treatment]
    for outcome in meta.outcomes:
        model = _clear_model(cleared, variables, outcome, [meta.treatment, *covariates], rules, log, source)
        if model is not None:
            models.append(model)
    if not models:
        raise TrialDataError("no analysis model could be cleared for release: " + "; ".join(log[-3:]))
    return ReleasedOutputs(
        n_rows=len(data),
        variables=tuple(variables.values()),
        models=tuple(models),
        rules=asdict(rules),
        log=tuple(log),
        sources=(source,) if source else (),
        cluster=meta.cluster,
        cluster_sizes=_cluster_sizes(data, meta, rules),
        columns=tuple(data.columns),
    )


def _round_counts(counts: np.ndarray, rules: ClearanceRules) -> np.ndarray:
    base = rules.count_rounding_base
    return np.maximum(np.round(counts / base) * base, base)


def _proportions(counts: np.ndarray, rules: ClearanceRules) -> tuple[float, ...]:
    rounded = _round_counts(np.asarray(counts, dtype=float), rules)
    return tuple(float(p) for p in rounded / rounded.sum())


def _sorted_levels(values) -> list:
    try:
        return sorted(values)
    except TypeError:
        return sorted(values, key=str)


def _clear_categorical(column: pd.Series, rules: ClearanceRules, log: list[str], first: object = None):
    name = column.name
    counts = column.value_counts(dropna=True)
    modal = counts.index[0]
    rare = [level for level, count in counts.items() if count < rules.min_cell_count and level != modal]
    if rare:
        column = column.where(~column.isin(rare), modal)
        log.append(
            f"{name}: {len(rare)} categories under {rules.min_cell_count} rows pooled into the modal one"
        )
    n_missing = int(column.isna().sum())
    if 0 < n_missing < rules.min_cell_count:
        column = column.fillna(modal)
        log.append(
            f"{name}: {n_missing} missing values (under {rules.min_cell_count}) counted as the modal category"
        )
        n_missing = 0
    levels = _sorted_levels(column.dropna().unique().tolist())
    if first is not None and first in levels:  # the treatment's reference arm: every contrast's base
        levels = [first, *(level for level in levels if level != first)]
    counts = [int((column == level).sum()) for level in levels] + ([n_missing] if n_missing else [])
    numeric = pd.api.types.is_numeric_dtype(column)
    variable = VariableOutput(
        name=name,
        kind="categorical",
        proportions=_proportions(np.asarray(counts), rules),
        has_missing=bool(n_missing),
        levels=tuple(plain(level) for level in levels),
        integer=bool(numeric and all(float(v).is_integer() for v in levels)),
    )
    return variable, column


def _rounded_outward(low: float, high: float) -> tuple[float, float]:
    span = high - low
    if span <= 0:
        return low - 0.5, high + 0.5
    step = 10 ** (math.floor(math.log10(span)) - 1)
    return math.floor(low / step) * step, math.ceil(high / step) * step


def _merge_small_bins(edges: list[float], counts: list[int], minimum: int) -> tuple[list[float], list[int]]:
    """Merge each under-populated bin into its smaller neighbour until every bin has ``minimum``."""
    while len(counts) > 1 and min(counts) < minimum:
        i = int(np.argmin(counts))
        if i == 0:
            j = 1
        elif i == len(counts) - 1:
            j = i - 1
        else:
            j = i - 1 if counts[i - 1] <= counts[i + 1] else i + 1
        low, high = min(i, j), max(i, j)
        counts[low : high + 1] = [counts[low] + counts[high]]
        del edges[high]
    return edges, counts


def _clear_continuous(column: pd.Series, rules: ClearanceRules, public, log: list[str]):
    name = column.name
    values = column.to_numpy(dtype=float, na_value=np.nan)
    present = values[~np.isnan(values)]
    if public is not None:
        low, high = public
        basis = "public bounds from the manifest"
    else:
        q = rules.tail_quantile
        low, high = _rounded_outward(*np.quantile(present, [q, 1 - q]))
        basis = f"{q:.1%}-{1 - q:.1%} quantiles rounded outward (top/bottom coded)"
    log.append(f"{name}: histogram over [{low:g}, {high:g}]: {basis}")
    clipped = np.clip(values, low, high)
    edges = np.linspace(low, high, rules.histogram_bins + 1).tolist()
    codes = np.clip(np.digitize(clipped[~np.isnan(clipped)], edges[1:-1]), 0, rules.histogram_bins - 1)
    counts = np.bincount(codes, minlength=rules.histogram_bins).tolist()
    edges, counts = _merge_small_bins(edges, counts, rules.min_cell_count)
    mean = float(np.mean(clipped[~np.isnan(clipped)]))
    fill = float(f"{mean:.{rules.mean_significant_figures}g}")
    n_missing = int(np.isnan(values).sum())
    if 0 < n_missing < rules.min_cell_count:
        clipped = np.where(np.isnan(clipped), fill, clipped)
        log.append(
            f"{name}: {n_missing} missing values (under {rules.min_cell_count}) set to the released mean"
        )
        n_missing = 0
    decimals = _decimals(present)
    variable = VariableOutput(
        name=name,
        kind="continuous",
        proportions=_proportions(np.asarray(counts + ([n_missing] if n_missing else [])), rules),
        has_missing=bool(n_missing),
        edges=tuple(float(e) for e in edges),
        fill=fill,
        decimals=decimals,
        integer=decimals == 0,
    )
    return variable, pd.Series(clipped, index=column.index, name=name)


def _decimals(values: np.ndarray, limit: int = 6) -> int:
    sample = values[:5000]
    for places in range(limit + 1):
        if np.allclose(sample, np.round(sample, places), rtol=0, atol=1e-6 * 10**-places):
            return places
    return limit


def _clear_model(cleared, variables, outcome, predictor_names, rules, log, source) -> ModelOutput | None:
    target = variables[outcome]
    if target.kind == "continuous":
        family = "linear"
    elif len(target.levels) == 2:
        family = "logistic"
    else:
        log.append(f"model for {outcome}: withheld: only binary or continuous outcomes are modelled")
        return None
    predictors = [variables[n] for n in predictor_names if variables[n].n_codes > 1]
    terms = model_terms(predictors)
    beta, errors, used, converged = fit_model(cleared, target, predictors, family)
    residual_df = used - len(terms)
    if residual_df < rules.min_residual_df:
        log.append(f"model for {outcome}: withheld: {residual_df} residual degrees of freedom")
        return None
    if not converged or not np.all(np.isfinite(beta)) or not np.all(np.isfinite(errors)):
        log.append(f"model for {outcome}: withheld: the fit did not converge (separation)")
        return None
    log.append(f"model for {outcome}: {family}, {len(terms)} coefficients, {used} rows")
    return ModelOutput(
        outcome=outcome,
        family=family,
        predictors=tuple(p.name for p in predictors),
        terms=tuple(terms),
        coefficients=tuple(round(float(b), rules.coefficient_decimals) for b in beta),
        n=used,
        source=source,
        event=target.levels[1] if family == "logistic" else None,
        standard_errors=tuple(
            max(round(float(e), rules.coefficient_decimals), 10.0**-rules.coefficient_decimals)
            for e in errors
        ),
    )


def _cluster_sizes(data: pd.DataFrame, meta: TrialMeta, rules: ClearanceRules) -> tuple[int, ...]:
    if not meta.cluster:
        return ()
    sizes = data[meta.cluster].value_counts(dropna=False).to_numpy(dtype=float)
    return tuple(int(s) for s in sorted(_round_counts(sizes, rules), reverse=True))
