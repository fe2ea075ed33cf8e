"""Sequential CART in the trial's design: new schools first, then their pupils - baseline
columns, the arm dealt at random, the outcomes fitted per arm.

No synthetic pupil is drawn from a real school and no synthetic school is a real one:

1. **The school table** (a trial with a cluster): one row per real school of the training rows -
   its school-level columns (constant within every school: its context, its arm where schools
   were randomised), its size, and the shrunken mean (empirical Bayes) of each pupil measurement
   that clusters (estimated ICC at least ``MIN_ICC``, the primary outcome first, ``MAX_MEANS`` at
   most): the means carry the clustering to the pupils. New schools are drawn from a sequential
   CART fitted on that table, their context and size smoothed (``cart_smoothing``), the arm
   dealt at random with the real number of schools per arm; the real schools' means are then
   dealt whole to the new schools whose drawn means are nearest them, within each arm
   (``cart_clustering.dealt_means``: each used once, so the arms' school effects are the real
   ones - the means are never released, only the pupils drawn given them). A new school whose
   school-level profile fits exactly one real school (``metrics.schools.fitting``) is drawn
   again, ``SCHOOL_TRIES`` times, then takes the profile of another new school: no new school
   points at one real school.
   A trial without a cluster is one school of its own (no table is released). Pupils without
   a school id are no school: never in the table or its gate, they keep their real share of the
   file and are drawn given a row of their own (``blank_row``) and released without an id.
2. **The pupils**: a sequential CART over the pupil columns, fitted with each real pupil's
   school row beside it and drawn with the new school's row beside each new pupil: baseline
   columns first, then the arm (in a pupil-randomised trial dealt at random with the real arm
   sizes, within the cells of what the real arm depends on: ``cart_arms``), then the columns
   that depend on it and the outcomes, fitted per arm (synthpop's strata; Petrakos, Moodie & Savy 2025:
   baseline, the arm at random, then post-treatment variables reproduced trial analyses best).
   A measurement with a clustered mean is drawn as a deviation from the school's mean and
   given its new school's mean back (``cart_clustering.deviations``). A pupil tree's leaf whose real
   pupils come from fewer than ``MIN_GROUPS`` schools draws from its nearest ancestor's that
   come from that many (``cart_trees.LeafDonors``): no new school's pupils are drawn from one
   real school's, and a school is not copied through the predictors that single it out.
   Pupils are shared among the new schools in proportion to their sizes, and the schools are
   labelled anew (1..K where the real ids are numbers, else ``school-NNN``) in a random order.

Only counts and column names are recorded (``record``), never a school's values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Self

import numpy as np
import pandas as pd

from trialsynth.domain import decimals_of
from trialsynth.evaluation.metrics.schools import fitting, school_level_columns, windows
from trialsynth.meta import TrialMeta
from trialsynth.missing import MISSING_SUFFIX, as_label
from trialsynth.synthesisers.cart_arms import ArmDealer, dealt_order
from trialsynth.synthesisers.cart_clustering import (
    MEAN,
    RULE,
    SIZE,
    SchoolsDrawn,
    as_compared,
    blank_row,
    blank_schools,
    clustered_means,
    dealt_means,
    deviations,
    one_arm_a_school,
    other_profiles,
    pupils_of_schools,
    school_arm,
    school_arm_pupils,
    with_school_means,
)
from trialsynth.synthesisers.cart_encoding import Encoding
from trialsynth.synthesisers.cart_smoothing import bandwidths, smooth
from trialsynth.synthesisers.cart_trees import Avoid, Given, SequentialCart, Strata

LABEL = "__school_label__"
SCHOOL_ARM = "__school_arm__"
SCHOOL_TRIES = 20
MIN_GROUPS = 3  # a pupil tree's leaf draws from the rows of at least this many schools (or pupils)
GROUPS_FROM = 30  # ... where the training rows hold at least this many (RAND HIE's 6 sites: a leaf
# within one site is a few of its ~2,700 person-years, not the site; imposed, pMSE ratio 17 -> 35)
SCHOOL_MIN_LEVELS = 5  # school measurements with fewer distinct values keep their donors
NO_SCHOOL = "__no_school__"  # pupils without a school (or a trial without schools): one school


@dataclass
class DesignCart:
    """The fitted model (see the module): ``fit`` on CART's prepared rows, then ``sample``."""

    min_leaf: int
    random_state: int
    numeric_ids: bool = False
    drawn: SchoolsDrawn = field(default_factory=SchoolsDrawn)

    def fit(
        self,
        data: pd.DataFrame,
        meta: TrialMeta,
        text: set[str],
        order: list[str],
        extra: pd.DataFrame | None = None,
        groups: np.ndarray | None = None,
        min_groups: int | None = None,
    ) -> Self:
        """``data``: the training rows as CART prepared them (real school ids in ``meta.cluster``);
        ``order``: CART's visiting order. ``extra``: columns every row is drawn given (a long
        file's pupil, place and row before: ``cart_units``), supplied to ``draw_rows``; an arm
        among them is never dealt. A pupil tree's leaf draws from ``min_groups`` of ``groups``
        (default: schools, ``_min_groups``)."""
        self.extra_ = list(extra.columns) if extra is not None else []
        cluster = meta.cluster
        self.has_schools_ = cluster is not None
        blank = blank_schools(data[cluster]) if cluster else pd.Series(False, index=data.index)
        school = data[cluster].astype(object).where(~blank, NO_SCHOOL) if cluster else None
        school = pd.Series(NO_SCHOOL, index=data.index, dtype=object) if school is None else school
        self.school_columns_ = school_level_columns(data, meta) if cluster else []
        arm = meta.treatment if meta.treatment in self.school_columns_ else None
        pupils = [c for c in order if c != cluster and c not in self.school_columns_]
        held = []
        if arm is None and cluster and meta.treatment in pupils:
            if one_arm_a_school(data[meta.treatment], data[cluster]):  # its unrandomised pupils aside
                data = data.assign(**{SCHOOL_ARM: school_arm(data[meta.treatment], school)})
                arm, held = SCHOOL_ARM, [SCHOOL_ARM]
                text = {*text, SCHOOL_ARM} if meta.treatment in text else text
        schooled = ~blank
        table = data[schooled].groupby(school[schooled], sort=False)[[*self.school_columns_, *held]].first()
        table[SIZE] = school[schooled].value_counts(sort=False).reindex(table.index).astype(float)
        if cluster:
            table = table.join(clustered_means(data[schooled], meta, school[schooled], pupils, arm))
        context = [c for c in self.school_columns_ if c != arm]
        means = [c for c in table.columns if c.startswith(MEAN)]  # (the school's arm: ``school_arm``)
        self.school_order_ = [*context, SIZE, *([arm] if arm else []), *means]
        self.school_arm_ = arm
        self.blank_share_ = float(blank.mean()) if cluster else 0.0
        self.blank_row_ = blank_row(data[blank], data, table) if cluster and blank.any() else None
        self.pupil_arms_ = school_arm_pupils(data[arm], blank, meta) if arm else None
        self._fit_schools(table[self.school_order_], text, meta)
        real = table[self.school_columns_]
        self.window_ = windows(data[schooled], real, meta) if self.school_columns_ else {}
        self.real_profile_ = as_compared(real, self.window_)
        if self.blank_row_ is not None:
            table = pd.concat([table, self.blank_row_.to_frame(NO_SCHOOL).T.astype(table.dtypes.to_dict())])
        rows = table.reindex(school.to_numpy()).set_axis(data.index)
        data, self.moved_ = deviations(data, rows[means], school)
        if extra is not None:
            data = pd.concat([data, extra.set_axis(data.index)], axis=1)
        if groups is None and cluster:
            groups = np.where(
                blank.to_numpy(), -1 - np.arange(len(data)), pd.factorize(school.astype(str))[0]
            )
        self._fit_pupils(
            data, rows, meta, text, pupils, blank.to_numpy(), groups, _min_groups(groups, min_groups)
        )
        return self

    def _fit_schools(self, table: pd.DataFrame, text: set[str], meta: TrialMeta) -> None:
        self.school_encoding_ = Encoding.of(table, text)
        arm = self.school_arm_
        given = (self.school_order_.index(arm),) if arm else ()
        self.school_cart_ = SequentialCart(min_leaf=self.min_leaf, random_state=self.random_state).fit(
            self.school_encoding_.encode(table), *self.school_encoding_.kinds(), given=given
        )
        self.school_arms_ = table[arm].to_numpy(dtype=object) if arm else None
        measured = [c for c in table.columns if c.startswith(SIZE) or meta.kinds.get(c) == "continuous"]
        means = [c for c in table.columns if c.startswith(MEAN)]
        self.real_means_ = table[means + ([arm] if arm else [])].reset_index(drop=True)
        self.school_smoothing_ = bandwidths(table, measured, min_levels=SCHOOL_MIN_LEVELS)
        self.size_range_ = (max(float(table[SIZE].min()), 1.0), float(table[SIZE].max()))
        self.decimals_ = {n: decimals_of(table[n]) for n in measured if n in self.school_columns_}
        self.school_count_ = len(table)

    def _fit_pupils(
        self,
        data: pd.DataFrame,
        rows: pd.DataFrame,
        meta: TrialMeta,
        text: set[str],
        pupils: list[str],
        blank: np.ndarray,
        groups: np.ndarray | None,
        min_groups: int,
    ) -> None:
        """``rows``: each real pupil's school row; ``groups``, ``min_groups``: see ``fit``."""
        post = [c for c in pupils if c.removesuffix(MISSING_SUFFIX) in meta.outcomes]
        arm = meta.treatment if meta.treatment in pupils else None
        baseline = [c for c in pupils if c not in post and c != arm]
        given_arm = meta.treatment if meta.treatment in self.extra_ else None
        # the school's context is released as the new school's and never predicts its pupils: a new
        # school pairs one real school's context with another's means, and pupils drawn from both
        # would carry two schools' effects (the 9,900-row demo's effect: 0.58 with it, 0.85 without)
        context = [c for c in self.school_columns_ if c != self.school_arm_]
        self.given_school_ = [c for c in self.school_order_ if c not in context]
        given_columns = [*self.given_school_, *self.extra_]
        # an arm that schools hold one each (pupils never randomised aside) is drawn given the
        # school; one shared within schools is dealt at random with the real sizes (a long file's
        # arm that varies within pupils is drawn given the row before: dealt, it would change at random)
        cluster = data[meta.cluster] if meta.cluster else None
        self.arm_dealt_ = arm is not None and not self.extra_ and not one_arm_a_school(data[arm], cluster)
        whole = pd.concat([data[pupils + self.extra_], rows[self.given_school_]], axis=1)
        self.dealer_: ArmDealer | None = None
        self.after_arm_: list[str] = []  # baseline columns the arm depends on: drawn after it
        order = [*given_columns, *baseline, *([arm] if arm else []), *post]
        if arm is not None and self.arm_dealt_:
            means = [c for c in self.given_school_ if c.startswith(MEAN)]  # the one parting most schools
            school = max(means, key=lambda c: whole[c].nunique(), default=None)
            order, post, self.dealer_, self.after_arm_ = dealt_order(
                whole, data[arm], meta, text, given_columns, baseline, post, blank, school
            )
        frame = whole[order]
        self.pupil_encoding_ = Encoding.of(frame, text)
        given = tuple(range(len(given_columns))) + ((order.index(arm),) if self.arm_dealt_ else ())
        held_by = arm or given_arm or self.school_arm_
        by = order.index(held_by) if held_by else None
        strata = Strata(by, len(order) - len(post)) if by is not None and post else None
        self.pupil_cart_ = SequentialCart(
            min_leaf=self.min_leaf,
            random_state=self.random_state,
            min_groups=min_groups,
        ).fit(
            self.pupil_encoding_.encode(frame),
            *self.pupil_encoding_.kinds(),
            given=given,
            strata=strata,
            groups=groups,
            # an arm every school holds one of (its unrandomised pupils aside) is its school's, drawn
            # given the school's row as that school's: pooled over schools, a school's pupils would
            # take other arms than the effect in its dealt means (a +5.2 effect drawn as +2.1)
            ungrouped=(order.index(arm),) if arm and not self.arm_dealt_ else (),
        )
        self.pupil_arm_ = arm
        self.per_arm_ = post if strata is not None else []

    # -- drawing ----------------------------------------------------------------------------

    def sample(self, n: int, rng: np.random.Generator) -> pd.DataFrame:
        """``n`` pupils in new schools: the pupil columns, the school-level columns and the new
        school's label in ``LABEL`` (a trial with schools); pupils without a school in the real
        file (their share of ``n``) without one here."""
        return self._draw_pupils(self.place(n, rng), None, rng)

    def place(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """New schools drawn (kept for the draws that follow) and the position of each of ``n``
        pupils' school among them; pupils without a school in the real file (their share of
        ``n``) are given the row of their own."""
        drawn = self._draw_schools(rng)
        blank = int(round(n * self.blank_share_))
        school_of = self._pupils_of_schools(n - blank, drawn, rng)
        if self.blank_row_ is not None:
            row = self.blank_row_.to_frame().T.assign(**{LABEL: np.nan})
            drawn = pd.concat([drawn, row], ignore_index=True)
            school_of = rng.permutation(np.concatenate([school_of, np.full(blank, len(drawn) - 1)]))
        self.schools_ = drawn
        return school_of.astype(np.intp)

    def draw_rows(
        self,
        school_of: np.ndarray,
        extra: pd.DataFrame,
        rng: np.random.Generator,
        avoid: dict[str, Avoid] | None = None,
    ) -> pd.DataFrame:
        """Rows of the schools last placed (``school_of``: each row's position among them), each
        drawn given its values of the ``extra`` columns the model was fitted with; ``avoid``: per
        column, which real rows may not give a row its value (``SequentialCart.sample``)."""
        columns = self.pupil_encoding_.columns
        at = {columns.index(name): groups for name, groups in (avoid or {}).items() if name in columns}
        return self._draw_pupils(school_of, None, rng, extra, at)

    def sources(self, name: str) -> np.ndarray:
        """The training row each value of pupil column ``name`` came from in the last call that
        drew rows (-1: given, missing, or a school-level column)."""
        sources = self.pupil_cart_.sources_
        if name not in self.pupil_encoding_.columns:
            return np.full(len(sources), -1, dtype=np.intp)
        return sources[:, self.pupil_encoding_.columns.index(name)]

    def _pupils_of_schools(self, n: int, schools: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
        arms = None
        if self.school_arm_ is not None and self.pupil_arms_ is not None:
            arms = schools[self.school_arm_].map(as_label).to_numpy(dtype=object)
        return pupils_of_schools(n, schools[SIZE].to_numpy(dtype=float), arms, self.pupil_arms_, rng)

    def sample_within(self, rows: pd.DataFrame, label: str | None, rng: np.random.Generator) -> pd.DataFrame:
        """New pupils for ``rows`` of the file last drawn, each in its row's school (``label``: the
        school column) and, where pupils were randomised, its row's arm (as CART holds it)."""
        if label is None:
            school_of = np.zeros(len(rows), dtype=np.intp)
        else:
            school_of = pd.Index(self.schools_[LABEL].astype(object)).get_indexer(rows[label].astype(object))
            if (school_of < 0).any():
                raise ValueError("DesignCart.sample_within: a row's school is not one of the last draw's.")
        arms = rows[self.pupil_arm_].to_numpy(dtype=object) if self.pupil_arm_ else None
        return self._draw_pupils(school_of.astype(np.intp), arms, rng)

    def _draw_pupils(
        self,
        school_of: np.ndarray,
        arms: np.ndarray | None,
        rng: np.random.Generator,
        extra: pd.DataFrame | None = None,
        avoid: dict[int, Avoid] | None = None,
    ) -> pd.DataFrame:
        rows = self.schools_.iloc[school_of][self.given_school_].reset_index(drop=True)
        if self.extra_:
            if extra is None or len(extra) != len(school_of):
                raise ValueError(f"DesignCart: every row is drawn given its values of {self.extra_}.")
            rows = pd.concat([rows, extra[self.extra_].reset_index(drop=True)], axis=1)
        given_columns = [*self.given_school_, *self.extra_]
        encoded = self.pupil_encoding_.encode(rows, given_columns)
        given: dict[int, Given] = {j: encoded[:, j] for j in range(len(given_columns))}
        if self.pupil_arm_ is not None:
            position = self.pupil_encoding_.columns.index(self.pupil_arm_)
            if arms is not None:
                given[position] = self.pupil_encoding_.values(self.pupil_arm_, arms)
            elif self.dealer_ is not None:
                given[position] = self._dealt_arms(
                    self.dealer_, self.schools_[LABEL].isna().to_numpy()[school_of], rng
                )
        out = self.pupil_encoding_.decode(self.pupil_cart_.sample(len(school_of), rng, given, avoid))
        if self.moved_:
            out = with_school_means(out, self.schools_.iloc[school_of].reset_index(drop=True), self.moved_)
        out = out.drop(columns=[c for c in given_columns if c not in self.school_columns_])
        for name in self.school_columns_:
            if name not in out:  # released as the new school's, never a pupil model's predictor
                out[name] = self.schools_[name].to_numpy()[school_of]
        if self.has_schools_:
            out[LABEL] = self.schools_[LABEL].to_numpy()[school_of]
        return out

    @staticmethod
    def _dealt_arms(dealer: ArmDealer, blank: np.ndarray, rng: np.random.Generator) -> Given:
        return lambda drawn: dealer.deal(drawn, blank, rng)

    def _draw_schools(self, rng: np.random.Generator) -> pd.DataFrame:
        k = self.school_count_
        arms = rng.permutation(self.school_arms_) if self.school_arms_ is not None else None
        schools = self._school_rows(k, arms, rng)
        fits_one = self._fits_one(schools)
        drawn = SchoolsDrawn(schools=k if self.has_schools_ else 0)
        for _ in range(SCHOOL_TRIES):
            if not fits_one.any():
                break
            again = np.flatnonzero(fits_one)
            fresh = self._school_rows(len(again), arms[again] if arms is not None else None, rng)
            for position, name in enumerate(schools.columns):
                schools.iloc[again, position] = fresh[name].to_numpy()
            drawn.redrawn += len(again)
            fits_one = self._fits_one(schools)
        if fits_one.any():
            context = [c for c in self.school_columns_ if c != self.school_arm_]
            schools = other_profiles(schools, fits_one, context, rng)
            drawn.took_other_profile = int(fits_one.sum())
        schools = dealt_means(schools, self.real_means_, self.school_arm_)
        self.drawn = drawn
        labels = rng.permutation(k) + 1
        width = max(3, len(str(k)))
        schools[LABEL] = labels if self.numeric_ids else [f"school-{v:0{width}d}" for v in labels]
        return schools

    def _school_rows(self, k: int, arms: np.ndarray | None, rng: np.random.Generator) -> pd.DataFrame:
        given: dict[int, Given] = {}
        if arms is not None and self.school_arm_ is not None:
            position = self.school_order_.index(self.school_arm_)
            given[position] = self.school_encoding_.values(self.school_arm_, arms)
        rows = self.school_encoding_.decode(self.school_cart_.sample(k, rng, given))
        rows = smooth(rows, self.school_smoothing_, rng)
        for name, places in self.decimals_.items():  # at the released precision, as the gate reads it
            rows[name] = rows[name].astype(float).round(places)
        rows[SIZE] = np.clip(np.round(rows[SIZE].to_numpy(dtype=float)), *self.size_range_)
        return rows

    def _fits_one(self, schools: pd.DataFrame) -> np.ndarray:
        """Which new schools' school-level profiles fit exactly one real school."""
        if not self.school_columns_:
            return np.zeros(len(schools), dtype=bool)
        mine = as_compared(schools[self.school_columns_], self.window_)
        return np.asarray(fitting(self.real_profile_, mine, self.window_).sum(axis=1) == 1)

    def _pupil_arm_record(self) -> str | None:
        if not self.pupil_arm_:
            return None
        return "pupils, dealt at random" if self.arm_dealt_ else "pupils, drawn given the school"

    def record(self) -> dict[str, Any]:
        return {
            "rule": RULE,
            "schools": self.school_count_ if self.has_schools_ else None,
            "school_level_columns": list(self.school_columns_),
            "clustered_means_of": [c.removeprefix(MEAN) for c in self.school_order_ if c.startswith(MEAN)],
            "arm": "schools" if self.school_arm_ else self._pupil_arm_record(),
            "arm_dealt_within": list(self.dealer_.names) if self.dealer_ is not None else None,
            "pupils_without_a_school": self.blank_row_ is not None,
            "fitted_per_arm": list(self.per_arm_),
            "drawn_after_arm": list(self.after_arm_),
        }


def _min_groups(groups: np.ndarray | None, asked: int | None) -> int:
    """A leaf's groups as asked, else ``MIN_GROUPS`` where there are ``GROUPS_FROM``."""
    enough = groups is not None and len(np.unique(groups)) >= GROUPS_FROM
    return asked if asked is not None else MIN_GROUPS if enough else 1
