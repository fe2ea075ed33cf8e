"""mbi's mirror descent (``mbi.estimation.MirrorDescent``), with the model's marginals calibrated in
numpy before and after the loop instead of by a compiled marginal oracle.

mbi compiles a program for each new set of measured cliques: the loop (``_multi_step``), and the
marginal oracle that ``MirrorDescent`` calls once before the loop (the starting marginals, which
the loop's first step computes again) and once after it (the model's marginals). AIM re-estimates
after every round with a new set of cliques, so the oracle's compilation was paid once a round:
about a third of AIM's estimation time on the 67,200 x 36 demo trial (``bench/dp_methods.py``).
Here the loop is mbi's, unchanged (the same steps, line search and potentials); the starting state
carries the potentials in the marginals' place (the loop never reads them) and the model's
marginals come from the numpy calibration of ``model_marginals`` (sum-product in log space, equal
to mbi's oracles to rounding; tested).

The starting state's step size and loss are strongly typed arrays, as the loop returns them: mbi
starts from Python floats (weakly typed), so an estimation longer than one block of steps
(``CALLBACK_EVERY``) compiled the loop a second time: AIM's final estimation after five rounds on
the 67,200 x 36 demo trial spent 12.3 s of its 13.8 s compiling, twice the one compilation.
"""

from __future__ import annotations

import dataclasses
from functools import cache
from typing import Any


@cache
def mirror_descent() -> Any:
    """A mirror-descent estimator whose only compiled program is mbi's loop (one instance, so mbi's
    compiled loops are reused across fits of the same cliques)."""
    import jax.numpy as jnp
    from mbi import CliqueVector, Factor, MarkovRandomField
    from mbi.estimation import MirrorDescent, MirrorDescentState, _extract_potentials

    from trialsynth.synthesisers.model_marginals import Tables

    @dataclasses.dataclass(frozen=True)
    class NumpyCalibrated(MirrorDescent):
        def _init(self, domain, loss_fn, known_total, *, warm_start=None, constraints=()):
            if constraints:
                return super()._init(
                    domain, loss_fn, known_total, warm_start=warm_start, constraints=constraints
                )
            potentials = _extract_potentials(warm_start, domain, loss_fn.cliques)
            alpha = 2.0 / (loss_fn.lipschitz * known_total) if self.stepsize is None else self.stepsize
            real = jnp.result_type(float)  # strongly typed, as the loop returns them
            # the loop's first step computes the marginals from the potentials; these are not read
            return MirrorDescentState(
                potentials, potentials, jnp.asarray(alpha, dtype=real), jnp.asarray(jnp.inf, dtype=real)
            )

        def _finalize(self, state, known_total, constraints=()):
            if constraints:
                return super()._finalize(state, known_total, constraints)
            potentials = state.potentials
            tables = Tables(potentials, float(known_total))
            marginals = {
                clique: Factor(potentials.domain.project(clique), jnp.asarray(tables.held(tuple(clique))))
                for clique in potentials.cliques
            }
            return MarkovRandomField(
                potentials=potentials,
                marginals=CliqueVector(potentials.domain, potentials.cliques, marginals),
                total=known_total,
            )

    return NumpyCalibrated()


def release_compiled() -> None:
    """Drop JAX's compiled programs once a fit is done. mbi compiles a program for every new set of
    measured cliques and each keeps memory maps of its own (about 75 on this machine); a worker
    fitting trial after trial kept them all, and past the kernel's map limit (65,530 here) the
    compiler aborts the process. A later fit compiles what it needs again."""
    import jax

    jax.clear_caches()
