"""A sequential-CART engine on scikit-learn trees, vectorised end to end.

The same method as synthpop (R and synthpop-py): columns are visited in order; each column's
conditional distribution given the columns before it is a CART tree (minimum leaf size 5,
complexity 1e-8, as R synthpop's defaults); a synthetic value is drawn by dropping the
synthetic predictors down the tree and taking the value of a random real donor in that leaf.
The first column is drawn from its marginal. Categorical predictors are encoded per target like
synthpop-py: by the category's target mean (numeric target) or by the first principal component
of its class proportions (categorical target). Numeric missing values are native: a classifier
tree first draws "missing or not", then the regression tree draws the value.

Written for speed: predictors stay in one float32 matrix (categories as codes, NaN where missing,
scikit-learn trees route NaN), donors are stored sorted by leaf so a draw is two array lookups,
and nothing loops over records in Python.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

# (drawn rows: their positions, their donors' rows) -> whether each row may not take its donor's value
Avoid = Callable[[np.ndarray, np.ndarray], np.ndarray]

MIN_LEAF = 5
# synthpop's stratum floor counts at most this many predictors: counted in full, a pupil table's
# 30 predictors (the school's row, the baseline) asked 310 pupils of an arm, and the RAND HIE's
# smaller plans (170 and 220 persons) drew their outcomes from the pooled tree
STRATUM_PREDICTORS = 10
COMPLEXITY = 1e-8
AVOID_TRIES = 8


@dataclass
class LeafDonors:
    """Real target values grouped by the tree leaf their row falls in; ``sources`` holds each
    donor's row (its position in the fitted matrix)."""

    tree: DecisionTreeClassifier | DecisionTreeRegressor | None
    starts: np.ndarray
    counts: np.ndarray
    donors: np.ndarray
    sources: np.ndarray

    @classmethod
    def fit(
        cls,
        tree,
        X: np.ndarray | None,
        y: np.ndarray,
        groups: np.ndarray | None = None,
        min_groups: int = 1,
        index: np.ndarray | None = None,
    ) -> LeafDonors:
        """``groups`` (a code per row: its school, its pupil): a leaf whose rows come from fewer
        than ``min_groups`` groups draws from the rows of its nearest ancestor that holds that
        many (``_pooled``) - never from one school's or one pupil's rows alone. ``index``: each
        row's position in the matrix the caller fits (default: its own)."""
        index = np.arange(len(y)) if index is None else index
        if tree is None:
            leaves = np.zeros(len(y), dtype=np.intp)
            n_nodes = 1
        else:
            tree.fit(X, y)
            leaves = tree.apply(X)
            n_nodes = tree.tree_.node_count
        if tree is not None and groups is not None and min_groups > 1:
            starts, counts, taken = _pooled(tree, X, leaves, groups, min_groups)
        else:
            taken = np.argsort(leaves, kind="stable")
            counts = np.bincount(leaves, minlength=n_nodes)
            starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        return cls(tree, starts, counts, y[taken], index[taken])

    def draw(self, X: np.ndarray | None, n: int, rng: np.random.Generator) -> np.ndarray:
        return self.donors[self.pick(X, n, rng)]

    def pick(
        self, X: np.ndarray | None, n: int, rng: np.random.Generator, clash: Avoid | None = None
    ) -> np.ndarray:
        """Each of ``n`` rows' donor (its position in ``donors``): a random real row of its leaf.
        ``clash`` (the rows' positions among the ``n`` and their donors' ``sources`` -> which
        clash): a clashing row's donor is drawn again, ``AVOID_TRIES`` times, then among its
        leaf's donors that do not clash (a leaf of clashing donors alone keeps its draw)."""
        leaves = np.zeros(n, dtype=np.intp) if self.tree is None else self.tree.apply(X)
        starts, counts = self.starts[leaves], self.counts[leaves]
        picks = starts + (rng.random(n) * counts).astype(np.intp)
        if clash is None or not n:
            return picks
        again = np.arange(n)
        for _ in range(AVOID_TRIES):
            again = again[clash(again, self.sources[picks[again]])]
            if not len(again):
                return picks
            picks[again] = starts[again] + (rng.random(len(again)) * counts[again]).astype(np.intp)
        for row in again[clash(again, self.sources[picks[again]])]:
            leaf = np.arange(starts[row], starts[row] + counts[row])
            free = leaf[~clash(np.full(len(leaf), row), self.sources[leaf])]
            if len(free):
                picks[row] = free[rng.integers(len(free))]
        return picks


def _pooled(
    tree, X: np.ndarray | None, leaves: np.ndarray, groups: np.ndarray, min_groups: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per node (starts, counts) into the donor rows (returned third): a leaf's own rows where
    they come from at least ``min_groups`` groups, else the rows of its nearest ancestor's."""
    structure = tree.tree_
    n_nodes = structure.node_count
    path = tree.decision_path(X).tocsc()  # rows x nodes: the nodes each row passes
    rows_of = [path.indices[path.indptr[k] : path.indptr[k + 1]] for k in range(n_nodes)]
    parent = np.full(n_nodes, -1, dtype=np.intp)
    for children in (structure.children_left, structure.children_right):
        inner = np.flatnonzero(children >= 0)
        parent[children[inner]] = inner
    enough = np.array([len(np.unique(groups[r])) >= min_groups for r in rows_of])
    pool = np.arange(n_nodes)
    used = np.unique(leaves)
    for leaf in used:
        node = leaf
        while not enough[node] and parent[node] >= 0:
            node = parent[node]
        pool[leaf] = node
    counts = np.zeros(n_nodes, dtype=np.intp)
    starts = np.zeros(n_nodes, dtype=np.intp)
    donors, at = [], 0
    for leaf in used:
        taken = rows_of[pool[leaf]]
        starts[leaf], counts[leaf] = at, len(taken)
        donors.append(taken)
        at += len(taken)
    return starts, counts, np.concatenate(donors)


def _tree(categorical: bool, seed: int, min_leaf: int = MIN_LEAF):
    cls = DecisionTreeClassifier if categorical else DecisionTreeRegressor
    return cls(min_samples_leaf=min_leaf, min_impurity_decrease=COMPLEXITY, random_state=seed)


def category_scores(codes: np.ndarray, n_levels: int, y: np.ndarray, y_categorical: bool) -> np.ndarray:
    """A number per category of a predictor, ordering it for one target (synthpop-py's encoders)."""
    valid = ~np.isnan(y) if not y_categorical else np.ones(len(y), dtype=bool)
    counts = np.bincount(codes[valid], minlength=n_levels).astype(float)
    if not y_categorical:
        sums = np.bincount(codes[valid], weights=y[valid], minlength=n_levels)
        fallback = y[valid].mean() if valid.any() else 0.0
        return np.where(counts > 0, sums / np.maximum(counts, 1), fallback)
    classes = y.astype(np.intp)
    table = np.zeros((n_levels, classes.max() + 1))
    np.add.at(table, (codes, classes), 1.0)
    proportions = table / np.maximum(table.sum(axis=1, keepdims=True), 1)
    centred = proportions - proportions.mean(axis=0)
    if not np.any(centred):
        return np.zeros(n_levels)
    u, s, _ = np.linalg.svd(centred, full_matrices=False)
    return u[:, 0] * s[0]


@dataclass
class ColumnModel:
    name: str
    categorical: bool
    predictor_scores: dict[int, np.ndarray]  # predictor position -> score per category code
    missing: LeafDonors | None
    values: LeafDonors | None


Given = np.ndarray | Callable[[np.ndarray], np.ndarray]


def largest_remainder(counts: np.ndarray, n: int) -> np.ndarray:
    """``n`` shared in proportion to ``counts`` in whole numbers (largest remainder): the counts
    themselves when ``n`` is their total."""
    share = counts / counts.sum() * n
    whole = np.floor(share).astype(int)
    whole[np.argsort(-(share - whole), kind="stable")[: n - whole.sum()]] += 1
    return whole


@dataclass(frozen=True)
class Strata:
    """Columns from ``first`` on fitted separately in each level of the column at ``by`` (the arm:
    synthpop's ``syn.strata`` for the post-randomisation columns) wherever the level has at least
    ``10 + 10 p`` rows (synthpop's floor, p predictors, at most ``STRATUM_PREDICTORS`` counted); a
    smaller level uses the pooled tree."""

    by: int
    first: int


class SequentialCart:
    """Fit on an encoded matrix (``codes``: float32, categories as 0..k-1 codes) and draw rows.

    ``categorical[j]`` says whether column j holds category codes; ``levels[j]`` how many.
    ``given``: positions not modelled - their values are supplied to ``sample`` (the synthetic
    school's row, an arm dealt at random) and every later column is drawn given them.
    ``strata``: later columns fitted per level of one column (``Strata``).
    """

    def __init__(self, *, min_leaf: int = MIN_LEAF, random_state: int = 0, min_groups: int = 1) -> None:
        self.min_leaf = min_leaf
        self.random_state = random_state
        self.min_groups = min_groups

    def _predictors(self, matrix: np.ndarray, j: int, scores: dict[int, np.ndarray]) -> np.ndarray:
        X = matrix[:, :j].astype(np.float32, copy=True)
        for position, table in scores.items():
            X[:, position] = table[matrix[:, position].astype(np.intp)]
        return X

    def fit(
        self,
        matrix: np.ndarray,
        categorical: list[bool],
        levels: list[int],
        *,
        given: tuple[int, ...] = (),
        strata: Strata | None = None,
        groups: np.ndarray | None = None,
        ungrouped: tuple[int, ...] = (),
    ) -> SequentialCart:
        """``groups``: each row's school (or pupil); with ``min_groups`` > 1 no leaf draws from
        fewer groups' rows (``LeafDonors.fit``) - but in the columns at ``ungrouped``."""
        rng = np.random.default_rng(self.random_state)
        self.groups_ = groups
        self.categorical_, self.levels_ = list(categorical), list(levels)
        self.given_, self.strata_ = tuple(given), strata
        self.models_: list[ColumnModel | None] = []
        self.strata_models_: dict[int, dict[int, ColumnModel]] = {}
        for j in range(matrix.shape[1]):
            seed = int(rng.integers(2**31 - 1))
            if j in self.given_:
                self.models_.append(None)
                continue
            self.models_.append(self._fit_column(matrix, j, seed, None if j in ungrouped else groups))
            if strata is not None and j >= strata.first:
                self.strata_models_[j] = self._fit_strata(matrix, j, seed, strata.by)
        return self

    def _fit_strata(self, matrix: np.ndarray, j: int, seed: int, by: int) -> dict[int, ColumnModel]:
        codes = matrix[:, by]
        out = {}
        for level in np.unique(codes[~np.isnan(codes)]):
            rows = codes == level
            if rows.sum() >= 10 + 10 * min(j, STRATUM_PREDICTORS):
                groups = self.groups_[rows] if self.groups_ is not None else None
                out[int(level)] = self._fit_column(matrix[rows], j, seed, groups, np.flatnonzero(rows))
        return out

    def _fit_column(
        self,
        matrix: np.ndarray,
        j: int,
        seed: int,
        groups: np.ndarray | None = None,
        index: np.ndarray | None = None,
    ) -> ColumnModel:
        """Column ``j``'s model on ``matrix``'s rows (``index``: their rows in the fitted matrix)."""
        index = np.arange(len(matrix)) if index is None else index
        categorical, levels = self.categorical_, self.levels_
        y = matrix[:, j]
        scores = {
            p: category_scores(matrix[:, p].astype(np.intp), levels[p], y, categorical[j])
            for p in range(j)
            if categorical[p]
        }
        X = self._predictors(matrix, j, scores) if j else None
        missing = None
        present = np.ones(len(y), dtype=bool)
        if not categorical[j] and np.isnan(y).any():
            flags = np.isnan(y).astype(np.int8)
            missing = LeafDonors.fit(
                _tree(True, seed, self.min_leaf) if j else None, X, flags, groups, self.min_groups
            )
            present = flags == 0
        values = None
        if present.any():
            tree = _tree(categorical[j], seed, self.min_leaf) if j else None
            values = LeafDonors.fit(
                tree,
                X[present] if X is not None else None,
                y[present],
                groups[present] if groups is not None else None,
                self.min_groups,
                index[present],
            )
        return ColumnModel(str(j), categorical[j], scores, missing, values)

    def sample(
        self,
        n: int,
        rng: np.random.Generator,
        given: dict[int, Given] | None = None,
        avoid: dict[int, Avoid] | None = None,
    ) -> np.ndarray:
        """``n`` rows; ``given`` holds the values of the ``given`` positions (n each, or a function
        of the rows drawn so far: an arm dealt within the cells of a drawn baseline column), and
        may hold those of a modelled column to keep fixed (a re-drawn pupil keeps its arm).
        ``avoid``: per position, the real rows that may not give a row its value there: a
        function of the rows drawn (positions among the ``n``) and their donors' rows that
        says which clash (``LeafDonors.pick``). ``sources_`` holds, after, the fitted row each
        drawn value came from (-1: given or missing)."""
        given, avoid = given or {}, avoid or {}
        self.sources_ = np.full((n, len(self.models_)), -1, dtype=np.intp)
        missing = sorted(set(self.given_) - set(given))
        if missing:
            raise ValueError(f"SequentialCart.sample needs the values of the given columns {missing}.")
        out = np.full((n, len(self.models_)), np.nan, dtype=np.float64)
        for j, model in enumerate(self.models_):
            if model is None or j in given:  # supplied: a given column, or a drawn one held fixed
                supplied = given[j]
                out[:, j] = supplied(out) if callable(supplied) else supplied
                continue
            by_level = self.strata_models_.get(j, {})
            if not by_level:
                _draw_column(self, model, out, j, np.arange(n), rng, avoid.get(j))
                continue
            assert self.strata_ is not None
            level = out[:, self.strata_.by]
            pooled = ~np.isin(level, list(by_level))
            _draw_column(self, model, out, j, np.flatnonzero(pooled), rng, avoid.get(j))
            for code, stratum in by_level.items():
                _draw_column(self, stratum, out, j, np.flatnonzero(level == code), rng, avoid.get(j))
        return out


def _draw_column(
    cart: SequentialCart,
    model: ColumnModel,
    out: np.ndarray,
    j: int,
    rows: np.ndarray,
    rng: np.random.Generator,
    avoid: Avoid | None = None,
) -> None:
    """Column ``j`` of ``out``'s ``rows`` drawn from ``model`` given the columns before it, from
    no donor ``avoid`` rules out (``SequentialCart.sample``)."""
    if not len(rows):
        return
    X = cart._predictors(out[rows], j, model.predictor_scores) if j else None
    present = np.ones(len(rows), dtype=bool)
    if model.missing is not None:
        present = model.missing.draw(X, len(rows), rng) == 0
    if model.values is not None and present.any():
        keep = rows[np.flatnonzero(present)]
        clash = (lambda at, sources: avoid(keep[at], sources)) if avoid is not None else None
        picks = model.values.pick(X[present] if X is not None else None, len(keep), rng, clash)
        out[keep, j] = model.values.donors[picks]
        cart.sources_[keep, j] = model.values.sources[picks]
