"""Sequential CART for a long-format file (several rows per pupil): a pupil's rows drawn together.

A long-format file (a row per pupil and wave, visit or rating; the pupil id is the plan's
``unit``) is synthesised in three levels, each a ``cart_schools.DesignCart``:

1. **Pupils** - one row per real pupil of the training rows: the pupil's columns (those constant
   within at least ``PUPIL_SHARE`` of the pupils with several rows: sex, birth year, the arm of a
   pupil-randomised trial; a pupil takes its first row's value), how many rows the pupil has
   (``ROWS``) and the shrunken pupil mean (empirical Bayes, ``cart_clustering.shrunken_means``)
   of each measurement that varies within pupils and clusters in them (ICC at least
   ``cart_clustering.MIN_ICC``, the outcomes first, ``cart_clustering.MAX_MEANS`` at most): the
   means carry the correlation of one pupil's measurements to the rows. Where pupils keep one
   school (at least ``NESTED_SHARE`` of them; a pupil who moved keeps the first: Project STAR's
   6% of movers), the pupils are drawn
   in new schools as ``DesignCart`` draws any trial's pupils - school table, school gate, arm
   and strata alike - and the rows inherit their pupil's school.
2. **Rows** - the columns that vary within pupils (the wave, the scores of that wave, a class
   type that changed), a sequential CART fitted on every real row with its pupil's row beside
   it (``extra``: the pupil's columns and means, the row count), its place among the pupil's
   rows (``STEP``) and the pupil's row before it (``LAG`` columns, ``FIRST`` or missing on the
   first row): a new pupil's rows are drawn one wave at a time, each given the one drawn before,
   so a pupil's trajectory - its waves in order, its arm kept or changed as real pupils' were -
   follows the real ones. Outcomes are fitted per arm. A leaf of the row trees draws from the
   rows of at least ``cart_schools.MIN_GROUPS`` pupils (``cart_trees.LeafDonors``), however few
   pupils the file has, and a new row's value never comes from a real pupil whose values the
   pupil's two rows before (or, re-drawn by the gate, its row after) took in that column
   (``_avoid``): a new pupil's values in a column come from real pupils that change from row to
   row, never a real pupil's trajectory continued. Where
   pupils cross schools (ratings of
   lecturers), each row is drawn in a new school of its own (the row level is then the
   two-level design, schools drawn from the rows).

The rows come back pupil by pupil (``units_``: each row's pupil), as many as asked: the pupils'
row counts are drawn, and the last pupil drawn is cut to fit. Only counts and column names are
recorded, never a pupil's values.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import partial
from typing import Any, Self

import numpy as np
import pandas as pd

from trialsynth.meta import TrialMeta
from trialsynth.synthesisers.cart_clustering import MAX_MEANS, MIN_ICC, shrunken_means
from trialsynth.synthesisers.cart_schools import LABEL, MIN_GROUPS, DesignCart, SchoolsDrawn
from trialsynth.synthesisers.cart_trees import Avoid

PUPIL_SHARE = 0.95
NESTED_SHARE = 0.8
ROWS = "__pupil_rows__"
STEP = "__row_of_pupil__"
PUPIL_MEAN = "__pupil_mean__:"
LAG = "__row_before__:"
FIRST = "__first_row__"
RULE = "cart-units-v1"
DRAW_TRIES = 10
RETRIES = 2  # a row's re-draws given its own pupil before another's
NO_PUPIL = -1  # no real pupil to avoid
WINDOW = 2  # a row's value from none of the real pupils its pupil's rows this far before took theirs from


def constant_share(values: pd.Series, pupil: np.ndarray, several: np.ndarray) -> float:
    """The share of the pupils with several rows (``several``: per row) in whose rows ``values``
    never change (a missing value is a value)."""
    if not several.any():
        return 1.0
    within = values[several].astype(object).fillna("\0").groupby(pupil[several]).nunique()
    return float((within == 1).mean())


@dataclass
class UnitCart:
    """The fitted model (see the module): ``fit`` on CART's prepared rows and each row's pupil,
    then ``sample``."""

    min_leaf: int
    random_state: int
    numeric_ids: bool = False

    def fit(
        self, data: pd.DataFrame, meta: TrialMeta, text: set[str], order: list[str], units: np.ndarray
    ) -> Self:
        if len(units) != len(data):
            raise ValueError(f"UnitCart.fit: {len(units)} pupil ids for {len(data)} rows.")
        data = data.reset_index(drop=True)
        pupil = pd.factorize(pd.Series(units).astype(str))[0]  # codes in order of first row
        counts = np.bincount(pupil)
        several = counts[pupil] > 1
        cluster = meta.cluster
        share = {c: constant_share(data[c], pupil, several) for c in order}
        self.nested_ = cluster is not None and share[cluster] >= NESTED_SHARE
        self.pupil_columns_ = [c for c in order if c != cluster and share[c] >= PUPIL_SHARE]
        self.row_columns_ = [c for c in order if c != cluster and c not in self.pupil_columns_]
        if not self.row_columns_:
            raise ValueError("UnitCart.fit: no column varies within pupils; the file is not long.")
        first = data.loc[~pd.Series(pupil).duplicated().to_numpy()].reset_index(drop=True)
        table = first[[*self.pupil_columns_, *([cluster] if self.nested_ and cluster else [])]].copy()
        table[ROWS] = counts.astype(float)
        means = self._pupil_means(data, meta, pupil)
        table = pd.concat([table, means], axis=1)
        self.mean_columns_ = list(means.columns)
        self.pupils_ = DesignCart(self.min_leaf, self.random_state, self.numeric_ids).fit(
            table, self._pupil_meta(meta, table), text, list(table.columns)
        )
        self.block_ = [c for c in [*self.pupil_columns_, *self.mean_columns_, ROWS]
                       if c not in self.pupils_.school_columns_]  # fmt: skip
        extra, lag_text = self._extra(data, table, pupil, text)
        row_meta = replace(
            meta,
            kinds={
                c: meta.kinds[c]
                for c in [*self.row_columns_, *([cluster] if cluster else [])]
                if c in meta.kinds
            },
            cluster=None if self.nested_ else cluster,
        )
        row_order = [*([cluster] if cluster and not self.nested_ else []), *self.row_columns_]
        row_text = set(text) | lag_text
        # the row trees' leaves draw from the rows of at least three pupils (``groups``): a leaf
        # of one pupil's rows would hand its values on, the row before letting them follow in turn
        self.rows_ = DesignCart(self.min_leaf, self.random_state, self.numeric_ids).fit(
            data[row_order], row_meta, row_text, row_order, extra, groups=pupil, min_groups=MIN_GROUPS
        )
        self.row_pupils_ = pupil  # each real row's pupil (``_avoid``)
        self.max_rows_ = int(counts.max())
        self.pupils_per_row_ = len(counts) / len(data)
        return self

    def _pupil_means(self, data: pd.DataFrame, meta: TrialMeta, pupil: np.ndarray) -> pd.DataFrame:
        """The shrunken pupil means of the varying measurements that cluster within pupils."""
        found: list[tuple[bool, float, str, pd.Series]] = []
        codes = pd.Series(pupil, index=data.index)
        for name in self.row_columns_:
            if meta.kinds.get(name) == "categorical" or not pd.api.types.is_numeric_dtype(data[name]):
                continue
            means, icc = shrunken_means(data[name], codes)
            if icc >= MIN_ICC:
                found.append((name not in meta.outcomes, -icc, name, means))
        found.sort(key=lambda f: (f[0], f[1]))
        columns = {
            f"{PUPIL_MEAN}{name}": means.sort_index().to_numpy() for _, _, name, means in found[:MAX_MEANS]
        }
        return pd.DataFrame(columns, index=pd.RangeIndex(int(pupil.max()) + 1))

    def _pupil_meta(self, meta: TrialMeta, table: pd.DataFrame) -> TrialMeta:
        """The pupil table's roles: its outcomes the pupil means of the outcomes, the outcomes
        that are pupil columns and the row count (attrition follows the arm); arm sizes counted
        in pupils (from the table)."""
        outcomes = [
            *(f"{PUPIL_MEAN}{o}" for o in meta.outcomes if f"{PUPIL_MEAN}{o}" in table),
            *(o for o in meta.outcomes if o in self.pupil_columns_),
            ROWS,
        ]
        kinds = {c: meta.kinds.get(c, "continuous") for c in table.columns}
        cluster = meta.cluster if self.nested_ else None
        return replace(meta, kinds=kinds, outcomes=tuple(outcomes), cluster=cluster, arms=(), unrandomised=0)

    def _extra(
        self, data: pd.DataFrame, table: pd.DataFrame, pupil: np.ndarray, text: set[str]
    ) -> tuple[pd.DataFrame, set[str]]:
        """Each real row's given columns: its pupil's block, its place, its pupil's row before."""
        extra = table[self.block_].iloc[pupil].reset_index(drop=True)
        step = pd.Series(pupil).groupby(pupil).cumcount().to_numpy() + 1
        extra[STEP] = step.astype(float)
        lagged = {c for c in self.row_columns_ if c in text}
        return pd.concat([extra, _lagged(data[self.row_columns_], pupil, step, lagged)], axis=1), {
            LAG + c for c in lagged
        }

    # -- drawing ----------------------------------------------------------------------------

    def sample(self, n: int, rng: np.random.Generator) -> pd.DataFrame:
        """``n`` rows, pupil by pupil (``units_``), the rows of a pupil in order. No row's value
        comes from a real pupil whose values the pupil's ``WINDOW`` rows before took in that
        column (``_avoid``; each leaf holds the rows of more pupils than that): a new pupil's
        trajectory is never a real pupil's, continued."""
        pupils, counts = self._draw_pupils(n, rng)
        k = len(counts)
        self.units_ = np.repeat(np.arange(k), counts)
        step = np.concatenate([np.arange(1, c + 1) for c in counts]).astype(float)
        if self.nested_:
            self.rows_.place(1, rng)  # the one school of the row level: the pupils hold theirs
            school_of = np.zeros(n, dtype=np.intp)
        else:
            school_of = self.rows_.place(n, rng)
        block = pupils[self.block_].iloc[self.units_].reset_index(drop=True)
        block[STEP] = step
        self.donors_ = {c: np.full(n, NO_PUPIL) for c in self.row_columns_}  # filled wave by wave
        previous = None
        drawn_rows, extras = [], []
        for t in range(1, int(counts.max()) + 1):
            at = np.flatnonzero(step == t)
            extra = block.iloc[at].reset_index(drop=True)
            lags = _lag_values(previous, self.row_columns_, self.rows_.pupil_encoding_.codebook, len(at))
            extra = pd.concat([extra, lags], axis=1)
            drawn = self.rows_.draw_rows(school_of[at], extra, rng, self._avoid(at)).set_axis(at)
            extras.append(extra.set_axis(at))
            drawn_rows.append(drawn)
            # the rows of step t + 1 belong to the pupils of step t with more rows, in order
            more = counts[self.units_[at]] > t
            previous = drawn.loc[at[more], self.row_columns_].reset_index(drop=True)
            self._took(at)
        out = pd.concat(drawn_rows).sort_index()
        self.extras_ = pd.concat(extras).sort_index()
        self.tries_ = np.zeros(n, dtype=int)  # each row's re-draws (``sample_within``)
        self.school_of_ = school_of
        pupil_side = pupils[[*self.pupil_columns_, *([LABEL] if LABEL in pupils else [])]]
        out = pd.concat([out, pupil_side.iloc[self.units_].reset_index(drop=True)], axis=1)
        self.drawn_ = out
        return out

    def _draw_pupils(self, n: int, rng: np.random.Generator) -> tuple[pd.DataFrame, np.ndarray]:
        """New pupils and their row counts summing to ``n``: as many pupils as the real file
        has per row, drawn again with more while their counts fall short; the pupils beyond
        ``n`` rows left out (they come in a random order) and the last one cut to fit."""
        k = max(1, int(round(n * self.pupils_per_row_)))
        for _ in range(DRAW_TRIES):
            pupils = self.pupils_.sample(k, rng)
            counts = np.clip(np.round(pupils[ROWS].to_numpy(dtype=float)), 1, self.max_rows_).astype(int)
            if counts.sum() >= n:
                break
            k = int(np.ceil(k * n / counts.sum() * 1.05)) + 1
        else:
            raise ValueError(f"UnitCart: {DRAW_TRIES} draws of pupils fell short of {n} rows.")
        total = np.cumsum(counts)
        last = int(np.searchsorted(total, n))
        counts = counts[: last + 1].copy()
        counts[-1] -= int(total[last] - n)
        return pupils.iloc[: last + 1].reset_index(drop=True), counts

    def _took(self, at: np.ndarray) -> None:
        """Whose real rows the rows ``at`` of the last draw took their values from (``donors_``)."""
        for name, donors in self.donors_.items():
            source = self.rows_.sources(name)
            donors[at] = np.where(source >= 0, self.row_pupils_[source], NO_PUPIL)

    def _avoid(self, at: np.ndarray) -> dict[str, Avoid]:
        """Which real rows may not give the new rows ``at`` (positions in the file) a value of
        each row column: those of the real pupils that gave it to the ``WINDOW`` rows before
        in the new pupil, or to the row after (drawn already where the gate re-draws a row)."""
        shifts = (*range(-WINDOW, 0), 1)
        others = [np.clip(at + shift, 0, len(self.units_) - 1) for shift in shifts]
        same = [
            (at + s == o) & (self.units_[o] == self.units_[at]) for s, o in zip(shifts, others, strict=True)
        ]
        out: dict[str, Avoid] = {}
        for name, donors in self.donors_.items():
            near = np.column_stack(
                [np.where(m, donors[o], NO_PUPIL) for m, o in zip(same, others, strict=True)]
            )
            out[name] = partial(_clash, self.row_pupils_, near)
        return out

    def sample_within(self, rows: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
        """New rows for ``rows`` of the file last drawn (their index: their positions in it),
        each drawn again given its pupil, its place and its pupil's row before, as first drawn.
        A row drawn again ``RETRIES`` times already (its pupil and row before leading back to the
        same real record) is drawn given those of another new pupil's row at the same place: its
        own pupil's columns stay, its row's values follow another pupil."""
        at = rows.index.to_numpy()
        if len(at) and (at.min() < 0 or at.max() >= len(self.drawn_)):
            raise ValueError("UnitCart.sample_within: rows must keep their positions in the file last drawn.")
        np.add.at(self.tries_, at, 1)
        given = at.copy()
        for i in np.flatnonzero(self.tries_[at] > RETRIES):
            same_place = np.flatnonzero(self.extras_[STEP].to_numpy() == self.extras_[STEP].iloc[at[i]])
            given[i] = same_place[rng.integers(len(same_place))]
        out = self.drawn_.iloc[at].reset_index(drop=True).copy()
        steps = self.extras_[STEP].to_numpy()[at]
        for t in np.unique(steps):  # a pupil's rows in order, each avoiding its neighbours' donors
            these = np.flatnonzero(steps == t)
            extra = self.extras_.iloc[given[these]].reset_index(drop=True)
            fresh = self.rows_.draw_rows(self.school_of_[at[these]], extra, rng, self._avoid(at[these]))
            self._took(at[these])
            for name in fresh.columns:
                out.loc[these, name] = fresh[name].to_numpy()
        return out

    @property
    def drawn(self) -> SchoolsDrawn:
        return self.pupils_.drawn if self.nested_ else self.rows_.drawn

    def record(self) -> dict[str, Any]:
        schools = self.pupils_ if self.nested_ else self.rows_
        return {
            **schools.record(),
            "rule": RULE,
            "pupils": {
                "columns": list(self.pupil_columns_),
                "means_of": [c.removeprefix(PUPIL_MEAN) for c in self.mean_columns_],
                "schools": "the pupil's" if self.nested_ else "each row's",
                "arm": self.pupils_.record()["arm"],
            },
            "rows": {
                "columns": list(self.row_columns_),
                "drawn_given": "the pupil, its place, its row before",
            },
        }


def _clash(real_pupils: np.ndarray, near: np.ndarray, rows: np.ndarray, sources: np.ndarray) -> np.ndarray:
    """Whether each of ``rows`` (positions among the rows drawn) may not take the value of the
    real row ``sources``: its pupil is one of the row's ``near`` (pupils, ``NO_PUPIL`` none)."""
    return (real_pupils[sources][:, None] == near[rows]).any(axis=1)


def _lagged(rows: pd.DataFrame, pupil: np.ndarray, step: np.ndarray, text: set[str]) -> pd.DataFrame:
    """Each row's pupil's row before it (in the file's order; ``step`` 1 on a pupil's first
    row): a category ``FIRST`` (or a missing number) on the first row."""
    before = rows.groupby(pupil, sort=False).shift(1)
    out = pd.DataFrame(index=rows.index)
    for name in rows.columns:
        if name in text:
            out[LAG + name] = before[name].astype(object).where(step > 1, FIRST)
        else:
            out[LAG + name] = before[name].astype(float).where(step > 1, np.nan)
    return out.reset_index(drop=True)


def _lag_values(
    previous: pd.DataFrame | None, columns: list[str], codebook: dict[str, np.ndarray], n: int
) -> pd.DataFrame:
    """The lag columns of ``n`` rows drawn after ``previous`` (None: first rows). A category no
    real pupil had before another row (the last wave) is read as ``FIRST``: a fresh start."""
    out = {}
    for name in columns:
        lag = LAG + name
        if lag not in codebook:
            out[lag] = np.full(n, np.nan) if previous is None else previous[name].to_numpy(dtype=float)
        elif previous is None:
            out[lag] = np.full(n, FIRST, dtype=object)
        else:
            values = previous[name].to_numpy(dtype=object)
            out[lag] = np.where(pd.Index(codebook[lag]).get_indexer(values) >= 0, values, FIRST)
    return pd.DataFrame(out)
