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
is recorded where it fired by one ``Recorder`` (``ReleasedOutputs.clearance``: rule, where,
action, and the narrative ``ReleasedOutputs.log``), stored with the outputs. Statistical
disclosure rules (``outputs.rules.ClearanceRules``, stored with the outputs):

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
- **associations** (``clearance_associations``): rank correlations of every variable and its
  missingness, rounded; a pair of discrete columns only when every cell of its cross-table
  holds 10 rows;
- **schools** (``clearance_schools``): sizes pooled and grouped so that no released size is one
  school's own, each school's arm where schools were randomised whole, and the primary outcome's
  ICC by school (a variance component, from at least 10 schools);
- **residual degrees of freedom**: a model is released only with at least 10 (rows minus
  coefficients), a converged fit and finite coefficients;
- **class disclosure**: a category of a covariate whose pupils (with an outcome) all have one
  outcome of a logistic model (its coefficient would say that every such pupil had it) is
  pooled into the covariate's modal category; a covariate that cannot be pooled so is left out
  of that model (both recorded as ``model clearance``, without the reason); the model is
  withheld only when the treatment's own arms disclose; models are fitted on the randomised
  pupils wherever some were never randomised;
- **saturated models**: a model with no more covariate patterns than coefficients reproduces
  each pattern's outcome mean; it is withheld unless every pattern holds 10 rows.

A model that still breaks a rule is withheld with its reason; a trial with no model left fails.
"""

from __future__ import annotations

import math
from dataclasses import asdict

import numpy as np
import pandas as pd

from trialsynth.errors import TrialDataError
from trialsynth.meta import TrialMeta
from trialsynth.missing import plain
from trialsynth.outputs.clearance_associations import clear_associations
from trialsynth.outputs.clearance_models import clear_model, pure_levels
from trialsynth.outputs.clearance_schools import clear_schools
from trialsynth.outputs.released import ModelOutput, ReleasedOutputs, VariableOutput
from trialsynth.outputs.rules import ClearanceRules, Recorder, round_counts


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
    record = Recorder()
    cleared = pd.DataFrame(index=data.index)
    variables: dict[str, VariableOutput] = {}
    for name in data.columns:
        if name == meta.cluster:
            continue
        if meta.kinds[name] == "continuous":
            variables[name], cleared[name] = _clear_continuous(data[name], rules, bounds.get(name), record)
        else:
            first = meta.reference_arm if name == meta.treatment else None
            variables[name], cleared[name] = _clear_categorical(data[name], rules, record, first)
    models = _clear_models(cleared, variables, meta, rules, record, source)
    schools = clear_schools(data, cleared, variables, meta, rules, record)
    latent_names, latent_correlations, latent_orders = clear_associations(
        cleared, variables, meta.primary_outcome, rules, record
    )
    return ReleasedOutputs(
        n_rows=len(data),
        variables=tuple(variables.values()),
        models=tuple(models),
        rules=asdict(rules),
        log=tuple(record.log),
        sources=(source,) if source else (),
        cluster=meta.cluster,
        cluster_sizes=schools.sizes,
        cluster_arms=schools.arms,
        school_icc=schools.icc,
        icc_outcome=schools.icc_outcome,
        treatment=meta.treatment,
        latent_names=latent_names,
        latent_correlations=latent_correlations,
        latent_orders=latent_orders,
        columns=tuple(data.columns),
        clearance=tuple(record.checks),
    )


def _clear_models(
    cleared: pd.DataFrame,
    variables: dict[str, VariableOutput],
    meta: TrialMeta,
    rules: ClearanceRules,
    record: Recorder,
    source: str,
) -> list[ModelOutput]:
    """Each outcome's model on the treatment and the covariates, remedied for class disclosure
    first; a trial with no model left fails."""
    covariates = [n for n in variables if n not in meta.outcomes and n != meta.treatment]
    specified = {outcome: [meta.treatment, *covariates] for outcome in meta.outcomes}
    randomised = _remedy_class_disclosure(cleared, variables, specified, meta.treatment, rules, record)
    models = []
    for outcome, predictors in specified.items():
        model = clear_model(
            cleared,
            variables,
            outcome,
            predictors,
            rules=rules,
            record=record,
            source=source,
            randomised_only=outcome in randomised,
        )
        if model is not None:
            models.append(model)
    if not models:
        raise TrialDataError("no analysis model could be cleared for release: " + "; ".join(record.log[-3:]))
    return models


def _remedy_class_disclosure(
    cleared: pd.DataFrame,
    variables: dict[str, VariableOutput],
    specified: dict[str, list[str]],
    treatment: str,
    rules: ClearanceRules,
    record: Recorder,
) -> set[str]:
    """Remedies before a logistic model is withheld for class disclosure, as an output checker
    would ask for them: a covariate's category whose pupils all have one outcome is pooled into
    the covariate's modal category (the released variable loses it, in every model), and a
    covariate that cannot be pooled so (two categories, the modal one itself, missing values) is
    left out of that model. Where some pupils were never randomised (no arm), every model is
    fitted on the randomised pupils - the trial's analysis population - whatever their outcomes
    (fitted so only when they disclose, the choice itself would say that they do). The remedies
    are recorded without the reason (``model clearance``: the log does not say which category
    held one outcome); an arm is never changed (a model whose arms disclose is withheld).
    ``cleared``, ``variables`` and ``specified`` are updated; returns the outcomes whose models
    are fitted on randomised pupils only."""
    unrandomised = bool(cleared[treatment].isna().any())
    if unrandomised:
        fitted = "fitted on the randomised pupils (those never randomised left out)"
        record.check("analysis population", "models", fitted, f"models: {fitted}")
    for outcome, predictors in specified.items():
        if variables[outcome].kind == "continuous":
            continue
        for name in [p for p in predictors if p != treatment and variables[p].kind == "categorical"]:
            for _ in range(len(variables[name].category_levels)):
                rows = cleared.loc[cleared[treatment].notna()] if unrandomised else cleared
                pure = pure_levels(rows, outcome, name)
                if not pure:
                    break
                column = cleared[name]
                modal = column.value_counts().index[0]
                where = f"model for {outcome}"
                if any(pd.isna(v) or v == modal for v in pure) or column.nunique() - len(pure) < 2:
                    predictors.remove(name)
                    left = f"{name} left out of the model (output checking)"
                    record.check("model clearance", where, left, f"{where}: {left}")
                    break
                cleared[name] = column.where(~column.isin(pure), modal)
                variables[name], _ = _clear_categorical(cleared[name], rules, record)
                pooled = f"{len(pure)} categories pooled into the modal one (output checking of the {where})"
                record.check("model clearance", f"{name}: categories", pooled, f"{name}: {pooled}")
    return set(specified) if unrandomised else set()


def _proportions(counts: np.ndarray, rules: ClearanceRules) -> tuple[float, ...]:
    rounded = round_counts(np.asarray(counts, dtype=float), rules)
    return tuple(float(p) for p in rounded / rounded.sum())


def _sorted_levels(values) -> list:
    try:
        return sorted(values)
    except TypeError:
        return sorted(values, key=str)


def _clear_categorical(column: pd.Series, rules: ClearanceRules, record: Recorder, first: object = None):
    name = column.name
    counts = column.value_counts(dropna=True)
    modal = counts.index[0]
    rare = [level for level, count in counts.items() if count < rules.min_cell_count and level != modal]
    if rare:
        column = column.where(~column.isin(rare), modal)
        pooled = f"{len(rare)} categories under {rules.min_cell_count} rows pooled into the modal one"
        record.check("threshold", f"{name}: categories", pooled, f"{name}: {pooled}")
    n_missing = int(column.isna().sum())
    if 0 < n_missing < rules.min_cell_count:
        column = column.fillna(modal)
        counted = f"fewer than {rules.min_cell_count} missing values counted as the modal category"
        record.check("threshold", f"{name}: missing values", counted, f"{name}: {counted}")
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


def _clear_continuous(column: pd.Series, rules: ClearanceRules, public, record: Recorder):
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
    line = f"{name}: histogram over [{low:g}, {high:g}]: {basis}"
    if public is None:
        record.check("top/bottom coding", f"{name}: histogram", basis, line)
    else:
        record.note(line)
    clipped = np.clip(values, low, high)
    edges = np.linspace(low, high, rules.histogram_bins + 1).tolist()
    codes = np.clip(np.digitize(clipped[~np.isnan(clipped)], edges[1:-1]), 0, rules.histogram_bins - 1)
    counts = np.bincount(codes, minlength=rules.histogram_bins).tolist()
    before = len(counts)
    edges, counts = _merge_small_bins(edges, counts, rules.min_cell_count)
    if len(counts) < before:
        merged = f"{before - len(counts)} bins under {rules.min_cell_count} rows merged with a neighbour"
        record.check("threshold", f"{name}: histogram", merged)
    kept = clipped[~np.isnan(clipped)]
    if _dominated(kept, rules):
        modal = int(np.argmax(counts))
        mean = (edges[modal] + edges[modal + 1]) / 2
        record.check(
            "dominance",
            f"{name}: mean",
            f"withheld: its {rules.dominance_n} largest values exceed "
            f"{rules.dominance_k:.0%} of the total; the modal bin's midpoint stands in",
        )
    else:
        mean = float(np.mean(kept))
    fill = float(f"{mean:.{rules.mean_significant_figures}g}")
    n_missing = int(np.isnan(values).sum())
    if 0 < n_missing < rules.min_cell_count:
        clipped = np.where(np.isnan(clipped), fill, clipped)
        filled = f"fewer than {rules.min_cell_count} missing values set to the released mean"
        record.check("threshold", f"{name}: missing values", filled, f"{name}: {filled}")
        n_missing = 0
    decimals = _decimals(present)
    atoms, shares = _atoms(np.round(kept, decimals), edges, rules, record, name)
    variable = VariableOutput(
        name=name,
        kind="continuous",
        proportions=_proportions(np.asarray(counts + ([n_missing] if n_missing else [])), rules),
        has_missing=bool(n_missing),
        edges=tuple(float(e) for e in edges),
        fill=fill,
        decimals=decimals,
        integer=decimals == 0,
        atoms=atoms,
        atom_shares=shares,
    )
    return variable, pd.Series(clipped, index=column.index, name=name)


def _atoms(
    values: np.ndarray, edges: list[float], rules: ClearanceRules, record: Recorder, name: str
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """The exact values at least ``min_cell_count`` rows and ``atom_min_share`` of the present
    rows hold (at most ``max_atoms``, the most held first), with their shares from counts rounded
    to base 5 over the rounded total: a frequency table of the column's pile-ups, cleared by the
    threshold rule like any table of counts. A bin whose other rows (beyond its atoms) would be
    a cell under the minimum keeps none of its atoms."""
    if not len(values):
        return (), ()
    found, counts = np.unique(values, return_counts=True)
    held = (counts >= rules.min_cell_count) & (counts >= rules.atom_min_share * len(values))
    bins = np.clip(np.digitize(values, edges[1:-1]), 0, len(edges) - 2)
    atom_bins = np.clip(np.digitize(found, edges[1:-1]), 0, len(edges) - 2)
    in_bin = np.bincount(bins, minlength=len(edges) - 1)
    as_atoms = np.bincount(atom_bins[held], weights=counts[held], minlength=len(edges) - 1)
    rest = in_bin - as_atoms
    held &= ~((rest[atom_bins] > 0) & (rest[atom_bins] < rules.min_cell_count))
    order = np.argsort(-counts[held], kind="stable")[: rules.max_atoms]
    if not len(order):
        return (), ()
    atoms, counts = found[held][order], counts[held][order]
    total = round_counts(np.array([float(len(values))]), rules)[0]
    shares = round_counts(counts.astype(float), rules) / total
    record.check(
        "threshold",
        f"{name}: common values",
        f"{len(atoms)} exact values each held by at least {rules.min_cell_count} rows and "
        f"{rules.atom_min_share:.1%} of them released with their shares (counts rounded to base "
        f"{rules.count_rounding_base}; none where a bin's other rows would be under "
        f"{rules.min_cell_count})",
    )
    return tuple(float(a) for a in atoms), tuple(float(min(s, 1.0)) for s in shares)


def _decimals(values: np.ndarray, limit: int = 6) -> int:
    sample = values[:5000]
    for places in range(limit + 1):
        if np.allclose(sample, np.round(sample, places), rtol=0, atol=1e-6 * 10**-places):
            return places
    return limit
