"""The mirror descent the marginal methods estimate with: mbi's loop, with the model's marginals
from the numpy calibration - the same model as mbi's own estimator gives."""

import numpy as np

from trialsynth.synthesisers import estimation
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


def test_a_fit_leaves_no_compiled_program_behind():
    """Each compiled program keeps memory maps of its own; a worker fitting trial after trial must
    not keep them all (the compiler aborted the process past the kernel's map limit)."""
    import dataclasses

    import pandas as pd
    from mbi.estimation import Estimator

    from trialsynth.data.cleaning import clean
    from trialsynth.domain import ColumnDomain, PublicDomain
    from trialsynth.dp.noise import PublicNoise
    from trialsynth.plan import Roles
    from trialsynth.synthesisers.mst import MstSynthesiser

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"arm": rng.integers(0, 2, 400), "score": rng.integers(0, 5, 400)})
    data, meta = clean(frame, Roles.of(treatment="arm", outcomes=["score"]), trial_id="t")
    domain = PublicDomain(
        (
            ColumnDomain("arm", levels=(0, 1), missing=False),
            ColumnDomain("score", levels=tuple(range(5)), missing=False),
        )
    )
    mbi = load_mbi()
    domain_, measured = _measurements(mbi)
    mirror_descent().estimate(domain_, measured, known_total=500, iters=50)
    assert Estimator._multi_step._cache_size() > 0
    MstSynthesiser(epsilon=2.0, iterations=50).fit(
        data, dataclasses.replace(meta, domain=domain), noise=PublicNoise(np.random.default_rng(1))
    )
    assert Estimator._multi_step._cache_size() == 0


def test_an_estimation_compiles_its_loop_once():
    """The loop runs in blocks of mbi's ``CALLBACK_EVERY`` steps; mbi's own start (Python floats,
    weakly typed) made the second block compile the loop again."""
    from mbi.estimation import Estimator

    estimation.release_compiled()
    mbi = load_mbi()
    domain, measured = _measurements(mbi)
    mirror_descent().estimate(domain, measured, known_total=500, iters=200)  # four blocks
    assert Estimator._multi_step._cache_size() == 1
    mirror_descent().estimate(domain, measured[:3], known_total=500, iters=100)  # other cliques
    assert Estimator._multi_step._cache_size() == 2
    estimation.release_compiled()
