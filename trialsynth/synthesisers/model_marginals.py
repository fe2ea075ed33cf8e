"""Exact marginals of a fitted mbi model, in numpy (post-processing): AIM's quality scores, the
model's own marginals after each estimation (``estimation``) and the tables rows are drawn from
(``mst_sampling``).

The model's junction tree is calibrated once, in numpy (sum-product in log space: every
maximal clique's marginal). A marginal held by one clique is read off it. A marginal over
attributes in different cliques is carried along the tree (Koller & Friedman 2009, section
10.3.3; attributes in different trees of the forest are independent): from a clique holding
the source attribute ``a``, the joint P(a, C) passes to each neighbour C' through their separator
S as P(a, C') = P(a, S) P(C') / P(S) (only P(a, S) / P(S) is kept, never P(a, C') whole); one
pass over the tree gives P(a, x) for every attribute x.
Candidates are grouped by their first attribute, so a round's ~600 pair marginals cost one pass
per column. The reference AIM reads the same marginals with ``model.project`` (variable
elimination, one program per query); sampling n rows and counting, used before, was both slower
and noisy.
"""

from __future__ import annotations

import string
from collections import defaultdict
from typing import Any

import numpy as np

Clique = tuple[str, ...]
SOURCE = "__source__"  # the carried attribute's own axis


class Tables:
    """The junction tree of a model with these ``potentials`` (an mbi ``CliqueVector``) and
    ``total``, calibrated in numpy: each node's attributes and counts."""

    def __init__(self, potentials: Any, total: float) -> None:
        from mbi import junction_tree

        domain = potentials.domain
        tree, order = junction_tree.make_junction_tree(domain, [tuple(c) for c in potentials.cliques])
        self.elimination_order = list(order)
        self.sizes = {a: int(domain[a]) for a in domain.attributes}
        self.nodes = [tuple(node) for node in tree.nodes]
        self.neighbours = {tuple(n): [tuple(m) for m in tree.neighbors(n)] for n in tree.nodes}
        logs = {node: np.zeros([self.sizes[a] for a in node]) for node in self.nodes}
        for clique in potentials.cliques:
            factor = potentials[clique]
            node = next(n for n in self.nodes if set(clique) <= set(n))
            values = np.asarray(factor.values, float)
            logs[node] = logs[node] + _aligned(values, tuple(factor.domain.attributes), node)
        calibrated = _calibrate(logs, self.neighbours, total)
        self.tables = {node: (node, table) for node, table in calibrated.items()}
        self.home = {a: next(n for n in self.nodes if a in n) for a in domain.attributes}

    def held(self, clique: Clique) -> np.ndarray | None:
        """The marginal of ``clique`` (in its order) when one node holds it all, else None."""
        node = next((n for n in self.nodes if set(clique) <= set(n)), None)
        if node is None:
            return None
        attrs, values = self.tables[node]
        return _project(attrs, values, clique)

    def carried(self, source: str, targets: set[str]) -> dict[str, np.ndarray]:
        """P(source, b) for every b in ``targets`` of the source's tree, axes (source, b): one pass
        from the source's home. Each node C receives R = P(source, S) / P(S) over its separator
        with the node it was reached from (at the home, S = the source and R = 1[a' = a]), so
        P(source, X) = sum over C minus X of R P(C) for any X within C, never written out whole."""
        root = self.home[source]
        incoming: dict[Clique, tuple[Clique, np.ndarray]] = {
            root: ((SOURCE, source), np.eye(self.sizes[source]))
        }
        out: dict[str, np.ndarray] = {}
        stack = [root]
        while stack:
            node = stack.pop()
            r_attrs, ratio = incoming[node]
            attrs, values = self.tables[node]
            for b in targets:
                if self.home[b] == node:
                    out[b] = _contract(ratio, r_attrs, values, attrs, (SOURCE, b))
            for child in self.neighbours[node]:
                if child in incoming:
                    continue
                separator = tuple(a for a in attrs if a in child)
                on_sep = _contract(ratio, r_attrs, values, attrs, (SOURCE, *separator))
                p_sep = _project(attrs, values, separator)
                quotient = np.divide(on_sep, p_sep[None], out=np.zeros_like(on_sep), where=p_sep[None] > 0)
                incoming[child] = ((SOURCE, *separator), quotient)
                stack.append(child)
        return out


def exact_marginals(
    model: Any, cliques: list[Clique], tables: Tables | None = None
) -> dict[Clique, np.ndarray]:
    """Each clique's marginal under ``model`` (flattened, in the clique's attribute order, counts
    summing to the model's total). A clique no node holds must be a pair."""
    tables = tables if tables is not None else Tables(model.potentials, float(model.total))
    out: dict[Clique, np.ndarray] = {}
    by_source: dict[str, list[Clique]] = defaultdict(list)
    for clique in cliques:
        held = tables.held(clique)
        if held is not None:
            out[clique] = held.ravel()
        elif len(clique) == 2:
            by_source[clique[0]].append(clique)
        else:
            raise ValueError(f"exact_marginals reads pairs across cliques only; got {clique!r}")
    for source, pairs in by_source.items():
        carried = tables.carried(source, {b for _, b in pairs})
        for pair in pairs:
            if pair[1] in carried:
                out[pair] = carried[pair[1]].ravel()
            else:  # another component of the forest: independent under the model
                first, second = tables.held(pair[:1]), tables.held(pair[1:])
                assert first is not None and second is not None
                out[pair] = (np.outer(first, second) / max(first.sum(), 1e-300)).ravel()
    return out


def _calibrate(
    logs: dict[Clique, np.ndarray], neighbours: dict[Clique, list[Clique]], total: float
) -> dict[Clique, np.ndarray]:
    """Sum-product in log space over each tree of the forest (an upward then a downward pass):
    every node's marginal, scaled to ``total``."""
    messages: dict[tuple[Clique, Clique], np.ndarray] = {}
    out: dict[Clique, np.ndarray] = {}
    done: set[Clique] = set()
    for root in logs:
        if root in done:
            continue
        order: list[Clique] = []
        parent: dict[Clique, Clique | None] = {root: None}
        stack = [root]
        while stack:  # depth-first: parents before children
            node = stack.pop()
            order.append(node)
            for child in neighbours[node]:
                if child not in parent:
                    parent[child] = node
                    stack.append(child)
        done.update(order)

        def belief(node: Clique, without: Clique | None = None) -> np.ndarray:
            table = logs[node]
            for other in neighbours[node]:
                if other != without and (other, node) in messages:
                    table = table + messages[(other, node)]
            return table

        for node in reversed(order):  # upward
            up = parent[node]
            if up is not None:
                messages[(node, up)] = _send(belief(node, up), node, up)
        for node in order:  # downward
            for child in neighbours[node]:
                if parent.get(child) == node:
                    messages[(node, child)] = _send(belief(node, child), node, child)
        for node in order:
            full = belief(node)
            p = np.exp(full - full.max())
            out[node] = p * (total / p.sum())
    return out


def _send(log_table: np.ndarray, node: Clique, to: Clique) -> np.ndarray:
    """The message from ``node`` to ``to``: log-sum-exp over what they do not share, aligned to
    ``to``'s axes."""
    shared = tuple(a for a in node if a in to)
    drop = tuple(i for i, a in enumerate(node) if a not in to)
    top = log_table.max(axis=drop, keepdims=True) if drop else log_table
    summed = np.log(np.exp(log_table - top).sum(axis=drop, keepdims=True)) + top if drop else log_table
    return _aligned(summed.reshape([log_table.shape[i] for i, a in enumerate(node) if a in to]), shared, to)


def _aligned(values: np.ndarray, attrs: Clique, target: Clique) -> np.ndarray:
    """``values`` (axes ``attrs``, all in ``target``) transposed and shaped to broadcast over
    ``target``'s axes."""
    order = sorted(range(len(attrs)), key=lambda i: target.index(attrs[i]))
    moved = np.transpose(values, order) if attrs else values
    shape = [values.shape[attrs.index(a)] if a in attrs else 1 for a in target]
    return moved.reshape(shape)


def _letters(attrs: Clique, names: dict[str, str]) -> str:
    for a in attrs:
        names.setdefault(a, string.ascii_letters[len(names)])
    return "".join(names[a] for a in attrs)


def _project(attrs: Clique, values: np.ndarray, keep: Clique) -> np.ndarray:
    """Sum ``values`` (axes ``attrs``) down to ``keep``, axes in ``keep``'s order."""
    names: dict[str, str] = {}
    return np.einsum(f"{_letters(attrs, names)}->{_letters(keep, names)}", values, optimize=True)


def _contract(
    left: np.ndarray, l_attrs: Clique, right: np.ndarray, r_attrs: Clique, keep: Clique
) -> np.ndarray:
    """The product of two tables summed down to ``keep`` (axes in its order)."""
    names: dict[str, str] = {}
    lhs, rhs = _letters(l_attrs, names), _letters(r_attrs, names)
    return np.einsum(f"{lhs},{rhs}->{_letters(keep, names)}", left, right, optimize=True)
