"""The mirror descent the marginal methods estimate with: mbi's loop, with the model's marginals
from the numpy calibration - the same model as mbi's own estimator gives."""

import numpy as np

from trialsynth.synthesisers.estimation import mirror_descent
from trialsynth.synthesisers.marginal_models import load_mbi


def _measurements(mbi):
    rng = np.random.default_rng(0)
    domain = mbi.Domain(["a", "b", "c", "d"], [3, 4, 2, 5])
    codes = {"a": rng.integers(0, 3, 500), "b": rng.integers(0, 4, 500)}
    codes["c"] = (codes["a"] + rng.integers(0, 2, 500)) % 2
    codes["d"] = (codes["b"] + rng.integers(0, 2, 500)) % 5
    data = mbi.Dataset(codes, domain)
    cliques = [("a", "c"), ("b", "d"), ("c", "d"), ("a",)]
    measured = [
        mbi.LinearMeasurement(data.project(c).datavector() + rng.normal(0, 2, domain.size(c)), c, 2.0)
        for c in cliques
    ]
    return domain, measured


def test_the_model_equals_mbis_own_estimate():
    mbi = load_mbi()
    domain, measured = _measurements(mbi)
    ours = mirror_descent().estimate(domain, measured, known_total=500, iters=200)
    theirs = mbi.estimation.MirrorDescent().estimate(domain, measured, known_total=500, iters=200)
    for clique in theirs.potentials.cliques:
        np.testing.assert_allclose(
            ours.potentials[clique].values, theirs.potentials[clique].values, atol=1e-9
        )
        np.testing.assert_allclose(ours.marginals[clique].values, theirs.marginals[clique].values, rtol=1e-8)
    np.testing.assert_allclose(ours.project(("c", "d")).datavector(), theirs.project(("c", "d")).datavector())


def test_a_warm_start_continues_from_the_earlier_model():
    mbi = load_mbi()
    domain, measured = _measurements(mbi)
    first = mirror_descent().estimate(domain, measured[:2], known_total=500, iters=100)
    ours = mirror_descent().estimate(domain, measured, known_total=500, iters=100, warm_start=first)
    theirs = mbi.estimation.MirrorDescent().estimate(
        domain, measured, known_total=500, iters=100, warm_start=first
    )
    for clique in theirs.potentials.cliques:
        np.testing.assert_allclose(
            ours.potentials[clique].values, theirs.potentials[clique].values, atol=1e-9
        )
