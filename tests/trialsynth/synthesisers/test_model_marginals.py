from itertools import combinations

import numpy as np
import pytest

from trialsynth.synthesisers.marginal_models import load_mbi
from trialsynth.synthesisers.model_marginals import exact_marginals

SIZES = {"a": 2, "b": 3, "c": 4, "d": 2, "e": 3}
CLIQUES = [("a", "b"), ("b", "c"), ("c", "d"), ("e",)]  # a chain and, apart, e


@pytest.fixture(scope="module")
def model():
    mbi = load_mbi()
    domain = mbi.Domain(list(SIZES), list(SIZES.values()))
    potentials = mbi.CliqueVector.random(domain, CLIQUES) * 2.0
    marginals = mbi.marginal_oracles.message_passing_stable(potentials, 500.0)
    return mbi.MarkovRandomField(potentials=potentials, marginals=marginals, total=500.0)


def _joint(model) -> np.ndarray:
    """The model's whole distribution by brute force (axes a..e), scaled to its total."""
    log = np.zeros(tuple(SIZES.values()))
    names = list(SIZES)
    for clique in CLIQUES:
        table = np.asarray(model.potentials[clique].values)
        shape = [SIZES[n] if n in clique else 1 for n in names]
        order = sorted(clique, key=names.index)
        log = log + np.transpose(table, [clique.index(n) for n in order]).reshape(shape)
    p = np.exp(log - log.max())
    return p / p.sum() * 500.0


def test_every_pair_equals_the_brute_force_marginal(model):
    joint = _joint(model)
    names = list(SIZES)
    pairs = list(combinations(names, 2)) + [("d", "a"), ("e", "b")]
    exact = exact_marginals(model, pairs + [("c",)])
    for pair in pairs:
        keep = tuple(names.index(n) for n in pair)
        drop = tuple(i for i in range(len(names)) if i not in keep)
        truth = joint.sum(axis=drop)
        if keep != tuple(sorted(keep)):
            truth = truth.T
        np.testing.assert_allclose(exact[pair], truth.ravel(), rtol=1e-8, err_msg=str(pair))
    np.testing.assert_allclose(exact[("c",)], joint.sum(axis=(0, 1, 3, 4)), rtol=1e-8)


def test_a_far_pair_is_not_the_product_of_its_one_way_marginals(model):
    """a and d are tied only through b and c: a reading that lost the path would give a x d."""
    exact = exact_marginals(model, [("a", "d"), ("a",), ("d",)])
    independent = np.outer(exact[("a",)], exact[("d",)]).ravel() / 500.0
    assert np.abs(exact[("a", "d")] - independent).sum() > 1e-3


def test_three_attributes_across_cliques_are_refused(model):
    with pytest.raises(ValueError, match="pairs across cliques"):
        exact_marginals(model, [("a", "c", "d")])
