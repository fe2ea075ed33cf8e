"""How CART's two-level design deals a pupil-randomised arm: at random, with the real arm sizes,
within the cells of what the real arm depends on.

A randomised arm is independent of the baseline, except where the design says otherwise, and
there the unadjusted effect a researcher estimates depends on it:

- pupils without a school (joined after randomisation) are the unrandomised ones, not a random
  share of every arm;
- baseline columns may hold the arm's design - the wave of a long-format file (pupils who
  joined in later years sit in some arms more than others), the strata of a stratified
  randomisation, the class-level columns a class's arm comes with - and so may the school: a
  multi-site trial offers some arms at some sites (the RAND HIE's free plan at one site of
  six). The school is a candidate through a mean of the school's row, which a new school takes
  whole from one real school: its pupils are dealt the arm as that school's were. Up to ``MAX_COLUMNS`` coded
  baseline columns (at most ``MAX_LEVELS`` values each), chosen greedily: the one most
  associated with the arm, then the one most associated within its levels, and so on, each only
  beyond chance (chi-square at ``ALPHA`` divided by the tests that may be run), the strongest by
  chi-square per degree of freedom. A trial whose arm depends on none is dealt as one cell.

A baseline column the arm depends on beyond chance that it is not dealt within (a plan's terms
set by the arm, a measure taken only in some arms, a score the arm's sites differ in) is not a
baseline of the randomisation: it is drawn after the arm, given it (``arm_dependent``), so its
tie to the arm is kept rather than dealt away.

Each cell's synthetic pupils take the cell's real arm shares, scaled so the file's arm sizes are
the real ones (``arm_counts``); a cell of fewer than ``MIN_CELL`` real pupils takes its school
group's shares. Works on the values as CART's matrix holds them (codes or numbers, NaN for the
unrandomised of a numeric arm)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from trialsynth.meta import TrialMeta
from trialsynth.synthesisers.cart_clustering import arm_counts
from trialsynth.synthesisers.cart_encoding import Encoding
from trialsynth.synthesisers.cart_trees import largest_remainder

ALPHA = 1e-3
MAX_LEVELS = 20
MIN_CELL = 20
MAX_COLUMNS = 3
DEPENDENT_BINS = 10  # quantile bins of a measurement tested for the arm's dependence on it


def arm_key(value: float) -> float | str:
    return "nan" if value != value else float(value)


@dataclass
class ArmDealer:
    """Real arm counts per cell: (without a school, levels of ``columns``), arm value -> count."""

    columns: tuple[int, ...]  # the positions of the baseline columns dealt within
    names: tuple[str, ...]
    cells: dict[tuple[bool, str], pd.Series]
    groups: dict[bool, pd.Series]

    @classmethod
    def fit(
        cls,
        arm: np.ndarray,
        baseline: dict[int, np.ndarray],
        blank: np.ndarray,
        real: pd.Series,
        names: dict[int, str],
    ) -> ArmDealer:
        """``arm``: the training rows' arm values; ``baseline``: coded baseline columns by
        position; ``blank``: the rows without a school; ``real``: the real arm sizes keyed as
        ``arm_key`` of the arm values."""
        arms = pd.Series([arm_key(v) for v in arm])
        scale = (real / arms.value_counts()).fillna(1.0)
        columns = _associated(arms, baseline, blank)
        level = _levels([baseline[c] for c in columns], len(arms))

        def scaled(counts: pd.Series) -> pd.Series:
            return counts * scale.reindex(counts.index).fillna(1.0)

        groups = {bool(b): scaled(arms[blank == b].value_counts()) for b in np.unique(blank)}
        cells = {}
        for (b, value), counts in arms.groupby([blank, level]):
            if len(counts) >= MIN_CELL:
                cells[(bool(b), str(value))] = scaled(counts.value_counts())
        return cls(columns, tuple(names[c] for c in columns), cells, groups)

    def deal(self, drawn: np.ndarray, blank: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Arm values for pupils ``drawn`` so far (CART's matrix: the columns before the arm) and
        ``blank`` (without a school)."""
        out = np.full(len(blank), np.nan)
        level = _levels([drawn[:, c] for c in self.columns], len(blank))
        frame = pd.DataFrame({"blank": blank, "level": level})
        for (b, value), rows in frame.groupby(["blank", "level"]).groups.items():
            counts = self.cells.get((bool(b), str(value)))
            if counts is None:
                counts = self.groups.get(bool(b), next(iter(self.groups.values())))
            whole = largest_remainder(counts.to_numpy(dtype=float), len(rows))
            values = np.array([np.nan if k == "nan" else k for k in counts.index], dtype=float)
            out[np.asarray(rows)] = rng.permutation(np.repeat(values, whole))
        return out

    def record(self) -> dict[str, Any]:
        return {"dealt_within": list(self.names), "cells": len(self.cells)}


def _levels(columns: list[np.ndarray], n: int) -> np.ndarray:
    """Each row's cell of ``columns`` as one text key."""
    if not columns:
        return np.full(n, "", dtype=object)
    keys = [np.array([str(arm_key(v)) for v in column], dtype=object) for column in columns]
    out = keys[0]
    for more in keys[1:]:
        out = out + "|" + more
    return out


def _associated(arms: pd.Series, baseline: dict[int, np.ndarray], blank: np.ndarray) -> tuple[int, ...]:
    """Up to ``MAX_COLUMNS`` coded baseline columns the arm depends on beyond chance, among the
    pupils with a school: the most associated first, then the one most associated within its
    levels (the chi-squares within each level summed), and so on; a column qualifies at ``ALPHA``
    divided by every test that may be run (columns tried x ``MAX_COLUMNS``) and the strongest is
    the one of largest chi-square per degree of freedom (on a large file every p-value
    underflows to 0)."""
    keep = ~blank
    arm = arms[keep].to_numpy()
    tried = [p for p, v in baseline.items() if 1 < pd.Series(v[keep]).nunique(dropna=False) <= MAX_LEVELS]
    keys = {p: _levels([baseline[p][keep]], len(arm)) for p in tried}  # each column's levels, once
    chosen: list[int] = []
    within = _levels([], len(arm))
    while len(chosen) < MAX_COLUMNS:
        found: list[tuple[float, int]] = []  # (-chi-square per degree of freedom, position)
        for position in [p for p in tried if p not in chosen]:
            statistic, dof, p = _within(arm, keys[position], within)
            if p < ALPHA / (len(tried) * MAX_COLUMNS):
                found.append((-statistic / dof, position))
        if not found:
            break
        chosen.append(min(found)[1])
        within = within + "|" + keys[chosen[-1]]
    return tuple(chosen)


def arm_dependent(
    frame: pd.DataFrame, arm: pd.Series, baseline: list[str], blank: np.ndarray, dealt: tuple[str, ...]
) -> list[str]:
    """The ``baseline`` columns (of ``frame``, the pupils' rows) other than the ``dealt`` ones
    that the ``arm`` depends on beyond chance within the dealt columns' cells, among the pupils
    with a school: chi-square summed over the cells, at ``ALPHA`` divided by the columns tested;
    a measurement of more than ``MAX_LEVELS`` values is tested in ``DEPENDENT_BINS`` quantile
    bins (ties kept together), a missing value its own level."""
    keep = ~blank
    arms, within = _text(arm[keep]), np.full(int(keep.sum()), "", dtype=object)
    for name in dealt:
        within = within + "|" + _text(frame[name][keep])
    tested = [c for c in baseline if c not in dealt and frame[c][keep].nunique(dropna=False) > 1]
    found = []
    for name in tested:
        levels = _binned(frame[name][keep])
        if levels is not None and _within(arms, levels, within)[2] < ALPHA / len(tested):
            found.append(name)
    return found


def _within(arm: np.ndarray, levels: np.ndarray, within: np.ndarray) -> tuple[float, int, float]:
    """The chi-square of ``arm`` against ``levels`` summed over the cells of ``within`` that hold
    two arms and two levels: the statistic, its degrees of freedom and its p-value (1 where no
    cell does). Each cell's Pearson statistic times (N - 1) / N, its expectation under
    independence given the margins (summed over many small cells, Pearson's own read 2,000 cells
    of 15 randomised pupils as dependent at p = 2e-9). One count of every (cell, arm, level)."""
    from scipy.stats import chi2

    counts = pd.DataFrame({"cell": within, "arm": arm, "level": levels}).value_counts()
    keys = counts.index.to_frame(index=False)
    shape = keys.groupby("cell").nunique()
    tested = shape[(shape["arm"] >= 2) & (shape["level"] >= 2)]
    if tested.empty:
        return 0.0, 0, 1.0
    by_arm = counts.groupby(level=["cell", "arm"]).transform("sum").to_numpy(dtype=float)
    by_level = counts.groupby(level=["cell", "level"]).transform("sum").to_numpy(dtype=float)
    total = counts.groupby(level="cell").transform("sum").to_numpy(dtype=float)
    # over a table, sum (O - E)^2 / E = sum O^2 / E - N (a combination never seen adds nothing)
    ratio = pd.Series(counts.to_numpy(dtype=float) ** 2 / (by_arm * by_level / total), index=keys["cell"])
    n = counts.groupby(level="cell").sum().astype(float)
    per_cell = (ratio.groupby(level=0).sum() - n) * (n - 1) / n
    statistic = float(per_cell.loc[tested.index].sum())
    dof = int(((tested["arm"] - 1) * (tested["level"] - 1)).sum())
    return statistic, dof, float(chi2.sf(statistic, dof))


def _text(column: pd.Series) -> np.ndarray:
    return np.asarray(column.astype(object).where(column.notna(), "nan").astype(str), dtype=object)


def _binned(column: pd.Series) -> np.ndarray | None:
    """A column's levels as text: its values where it has at most ``MAX_LEVELS``, else a
    measurement's ``DEPENDENT_BINS`` quantile bins (a text column of more levels: None, not
    tested); a missing value the level ``nan``."""
    if column.nunique(dropna=False) <= MAX_LEVELS:
        return _text(column)
    if not pd.api.types.is_numeric_dtype(column):
        return None
    return _text(pd.qcut(column.astype(float), DEPENDENT_BINS, labels=False, duplicates="drop"))


def arm_dealer(
    encoding: Encoding,
    frame: pd.DataFrame,
    arm: pd.Series,
    meta: TrialMeta,
    baseline: list[str],
    blank: np.ndarray,
    school: str | None = None,
) -> ArmDealer:
    """The dealer of a pupil-randomised arm fitted on the pupil model's ``frame`` (``encoding``
    its columns'): the real arm sizes, the coded ``baseline`` columns it may be dealt within and
    ``school``, a column of the school's row that tells the real schools apart (a school mean,
    dealt whole to a new school: its pupils are dealt the arm as that real school's were)."""
    real = arm_counts(arm, meta)
    keys = [arm_key(v) for v in encoding.values(str(arm.name), real.index.to_numpy(dtype=object))]
    coded = {
        encoding.columns.index(c): encoding.values(c, frame[c].to_numpy(dtype=object))
        for c in [*([school] if school else []), *baseline]
        if c in encoding.codebook or frame[c].nunique(dropna=False) <= MAX_LEVELS
    }
    names = {p: encoding.columns[p] for p in coded}
    values = encoding.values(str(arm.name), arm.to_numpy(dtype=object))
    return ArmDealer.fit(values, coded, blank, pd.Series(real.to_numpy(), index=keys), names)


def dealt_order(
    whole: pd.DataFrame,
    arm: pd.Series,
    meta: TrialMeta,
    text: set[str],
    given: list[str],
    baseline: list[str],
    post: list[str],
    blank: np.ndarray,
    school: str | None = None,
) -> tuple[list[str], list[str], ArmDealer, list[str]]:
    """A dealt arm's pupil model: its visiting order (``given``, ``baseline``, the arm, ``post``),
    its columns after the arm, its dealer (``school``: see ``arm_dealer``), and the baseline
    columns the arm depends on beyond chance (``arm_dependent``), moved after it."""
    order = [*given, *baseline, str(arm.name), *post]
    dealer = arm_dealer(Encoding.of(whole[order], text), whole[order], arm, meta, baseline, blank, school)
    moved = arm_dependent(whole, arm, baseline, blank, dealer.names)
    if not moved:
        return order, post, dealer, []
    order = [*given, *(c for c in baseline if c not in moved), str(arm.name), *moved, *post]
    # the dealer's columns at their new places (a column's codes do not depend on its place)
    dealer = replace(dealer, columns=tuple(order.index(name) for name in dealer.names))
    return order, [*moved, *post], dealer, moved
