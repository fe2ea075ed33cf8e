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

The rules follow the principles-based output checking of the Safe Data Access Professionals'
*Handbook on Statistical Disclosure Control for Outputs* (Griffiths et al. 2019) - a threshold
on every count, dominance for magnitudes, no differencing, no class disclosure, enough residual
degrees of freedom, no saturated model - with the thresholds of ``ClearanceRules``. Every check
is recorded where it fired (``ReleasedOutputs.clearance``: rule, where, action), stored with
the outputs. Statistical disclosure rules (``ClearanceRules``, stored with the outputs):

- **minimum cell count** (10): a category with fewer rows is pooled into the most frequent one;
  a histogram bin with fewer rows is merged with its smaller neighbour; a missing-value cell
  with fewer rows is not released (those values count as the modal category or the mean);
- **top/bottom coding**: without public ``bounds`` a continuous variable's histogram spans its
  0.5%-99.5% quantiles rounded outward, so no single extreme value is published;
- **rounding**: counts behind proportions to base 5, coefficients and standard errors to 4
  decimal places, means to 3 significant figures, a model's row count to base 5 (with the exact
  number of rows of the trial it would give the exact count of rows the model left out:
  differencing);
- **dominance** ((n, k) = (2, 85%)): a mean is released only when its two largest
  contributions (absolute values) make up at most 85% of the total; otherwise the midpoint of
  the modal histogram bin stands in for a missing value;
- **schools**: a school with fewer than 10 pupils is not released on its own (all such schools
  are one pooled entry), and the sizes are released per group of at least 5 schools alike in
  size (each school given its group's mean size, rounded to base 5): no released size is one
  school's own;
- **residual degrees of freedom**: a model is released only with at least 10 (rows minus
  coefficients), a converged fit and finite coefficients;
- **class disclosure**: a logistic model is withheld when a category of a predictor holds
  pupils of one outcome only (its coefficient would say that every such pupil had it);
- **saturated models**: a model with no more covariate patterns than coefficients reproduces
  each pattern's outcome mean; it is withheld unless every pattern holds 10 rows.

A model that breaks a rule is withheld with its reason; a trial with no model left fails.
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
    dominance_n: int = 2
    dominance_k: float = 0.85
    school_group: int = 5


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
    checks: list[dict[str, str]] = []
    cleared = pd.DataFrame(index=data.index)
    variables: dict[str, VariableOutput] = {}
    for name in data.columns:
        if name == meta.cluster:
            continue
        if meta.kinds[name] == "continuous":
            variables[name], cleared[name] = _clear_continuous(
                data[name], rules, bounds.get(name), log, checks
            )
        else:
            first = meta.reference_arm if name == meta.treatment else None
            variables[name], cleared[name] = _clear_categorical(data[name], rules, log, first)
    models = []
    covariates = [n for n in variables if n not in meta.outcomes and n != meta.treatment]
    for outcome in meta.outcomes:
        model = _clear_model(
            cleared, variables, outcome, [meta.treatment, *covariates], rules, log, source, checks
        )
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
        cluster_sizes=_cluster_sizes(data, meta, rules, checks),
        columns=tuple(data.columns),
        clearance=tuple(checks),
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
        log.append(f"{name}: fewer than {rules.min_cell_count} missing values counted as the modal category")
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


def _dominated(values: np.ndarray, rules: ClearanceRules) -> bool:
    """The (n, k) dominance rule: the ``dominance_n`` largest contributions (absolute values)
    exceed ``dominance_k`` of the total."""
    magnitudes = np.sort(np.abs(values))[::-1]
    total = magnitudes.sum()
    return bool(total > 0 and magnitudes[: rules.dominance_n].sum() > rules.dominance_k * total)


def _clear_continuous(column: pd.Series, rules: ClearanceRules, public, log: list[str], checks: list):
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
    kept = clipped[~np.isnan(clipped)]
    if _dominated(kept, rules):
        modal = int(np.argmax(counts))
        mean = (edges[modal] + edges[modal + 1]) / 2
        checks.append(
            {
                "rule": "dominance",
                "where": f"{name}: mean",
                "action": f"withheld: its {rules.dominance_n} largest values exceed "
                f"{rules.dominance_k:.0%} of the total; the modal bin's midpoint stands in",
            }
        )
    else:
        mean = float(np.mean(kept))
    fill = float(f"{mean:.{rules.mean_significant_figures}g}")
    n_missing = int(np.isnan(values).sum())
    if 0 < n_missing < rules.min_cell_count:
        clipped = np.where(np.isnan(clipped), fill, clipped)
        log.append(f"{name}: fewer than {rules.min_cell_count} missing values set to the released mean")
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


def _withhold(log: list[str], checks: list, outcome: str, rule: str, why: str) -> None:
    log.append(f"model for {outcome}: withheld: {why}")
    checks.append({"rule": rule, "where": f"model for {outcome}", "action": f"withheld: {why}"})


def _class_disclosure(cleared: pd.DataFrame, target, predictors) -> list[str]:
    """Categories of the predictors whose pupils all have one outcome."""
    y = cleared[target.name]
    found = []
    for predictor in predictors:
        if predictor.kind != "categorical":
            continue
        x = cleared[predictor.name]
        both = pd.DataFrame({"x": x.astype(str), "y": y.astype(str)}).dropna()
        outcomes_per_level = both.groupby("x")["y"].nunique()
        found += [f"{predictor.name} = {level}" for level, k in outcomes_per_level.items() if k < 2]
    return found


def _clear_model(
    cleared, variables, outcome, predictor_names, rules, log, source, checks
) -> ModelOutput | None:
    target = variables[outcome]
    if target.kind == "continuous":
        family = "linear"
    elif len(target.levels) == 2:
        family = "logistic"
    else:
        _withhold(log, checks, outcome, "model family", "only binary or continuous outcomes are modelled")
        return None
    predictors = [variables[n] for n in predictor_names if variables[n].n_codes > 1]
    terms = model_terms(predictors)
    if family == "logistic":
        classes = _class_disclosure(cleared, target, predictors)
        if classes:
            names = sorted({c.split(" = ")[0] for c in classes})
            why = f"class disclosure: a category of {', '.join(names)} holds pupils of one outcome only"
            _withhold(log, checks, outcome, "class disclosure", why)
            return None
    used_rows = cleared[[p.name for p in predictors] + [outcome]].dropna()
    patterns = used_rows[[p.name for p in predictors]].astype(str).agg("|".join, axis=1).value_counts()
    if len(patterns) <= len(terms) and int(patterns.min()) < rules.min_cell_count:
        why = (
            f"saturated: {len(patterns)} covariate patterns for {len(terms)} coefficients, "
            f"one of them under {rules.min_cell_count} rows"
        )
        _withhold(log, checks, outcome, "saturated model", why)
        return None
    beta, errors, used, converged = fit_model(cleared, target, predictors, family)
    residual_df = used - len(terms)
    if residual_df < rules.min_residual_df:
        _withhold(
            log,
            checks,
            outcome,
            "residual degrees of freedom",
            f"fewer than {rules.min_residual_df} residual degrees of freedom",
        )
        return None
    if not converged or not np.all(np.isfinite(beta)) or not np.all(np.isfinite(errors)):
        _withhold(log, checks, outcome, "convergence", "the fit did not converge (separation)")
        return None
    rounded_n = int(_round_counts(np.array([float(used)]), rules)[0])
    log.append(f"model for {outcome}: {family}, {len(terms)} coefficients, about {rounded_n} rows")
    checks.append(
        {
            "rule": "differencing",
            "where": f"model for {outcome}",
            "action": f"row count released rounded to base {rules.count_rounding_base}",
        }
    )
    return ModelOutput(
        outcome=outcome,
        family=family,
        predictors=tuple(p.name for p in predictors),
        terms=tuple(terms),
        coefficients=tuple(round(float(b), rules.coefficient_decimals) for b in beta),
        n=rounded_n,
        source=source,
        event=target.levels[1] if family == "logistic" else None,
        standard_errors=tuple(
            max(round(float(e), rules.coefficient_decimals), 10.0**-rules.coefficient_decimals)
            for e in errors
        ),
    )


def _cluster_sizes(
    data: pd.DataFrame, meta: TrialMeta, rules: ClearanceRules, checks: list
) -> tuple[int, ...]:
    """School sizes as released: schools under the minimum cell pooled into one entry, then
    schools in order of size grouped by ``school_group`` (the last group takes the remainder)
    and each given its group's mean size, rounded to base 5 (at least the minimum cell)."""
    if not meta.cluster:
        return ()
    sizes = np.sort(data[meta.cluster].value_counts(dropna=False).to_numpy(dtype=float))[::-1]
    small = sizes[sizes < rules.min_cell_count]
    sizes = sizes[sizes >= rules.min_cell_count]
    if len(small):
        checks.append(
            {
                "rule": "threshold",
                "where": "school sizes",
                "action": f"{len(small)} schools under {rules.min_cell_count} pupils "
                "released as one pooled entry",
            }
        )
        if small.sum() >= rules.min_cell_count:
            sizes = np.sort(np.append(sizes, small.sum()))[::-1]
    groups = max(len(sizes) // rules.school_group, 1)
    released = (
        np.concatenate([np.full(len(g), g.mean()) for g in np.array_split(sizes, groups)])
        if len(sizes)
        else sizes
    )
    checks.append(
        {
            "rule": "threshold",
            "where": "school sizes",
            "action": f"each school's size released as the mean of its group of at least "
            f"{min(rules.school_group, len(sizes))} schools alike in size, rounded to base "
            f"{rules.count_rounding_base}",
        }
    )
    rounded = np.maximum(_round_counts(released, rules), rules.min_cell_count)
    return tuple(int(s) for s in rounded)
