"""Empirical privacy audit of the MST and AIM mechanisms: a lower bound on epsilon, measured as
an adversary would (Jagielski et al. 2020; Nasr et al. 2021), to set beside the claimed epsilon.

    python bench/dp_audit.py [--releases 20000] [--epsilon 1] [--noise-scale 1]
    python bench/dp_audit.py --method aim --releases 1000 [--noise-scale 0.05]

AIM is audited on whole fits (its rounds choose what to measure from the model estimated so far,
so the fit is the mechanism): every noisy measurement it made - the one-way marginals over the
bins, the rounds' marginals over the compressed codes - enters the same likelihood-ratio
statistic, whichever marginals the noise led it to choose.

A tiny trial (3 columns of 2-3 levels, n = 2,000) and its neighbour under the stated relation: the
same n, one record replaced. Each release runs everything in MST that reads the data (public
domain, one-way marginals, exponential-mechanism tree selection, two-way marginals: ``measure``)
with the production noise (``SecureNoise``); the estimation and sampling after it are
post-processing and cannot add to the loss. The attack is the optimal one for Gaussian
measurements - the likelihood-ratio direction sum_c <y_c - mu_c(D), mu_c(D') - mu_c(D)> / sigma_c^2
- thresholded at every observed value; for each threshold, 95% Clopper-Pearson bounds on the false
and true positive rates give epsilon_lb = ln((TPR_low - delta) / FPR_high) (and the symmetric
test). The largest is the audit's lower bound; it must stay below the claimed epsilon.

``--noise-scale 0.1`` runs the same audit on a mechanism with a tenth of the noise it should
have: the bound then exceeds the claimed epsilon, which shows the audit has the power to catch a
broken mechanism.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import beta

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from trialsynth.domain import ColumnDomain, PublicDomain  # noqa: E402
from trialsynth.dp.cleaning import clean_public  # noqa: E402
from trialsynth.dp.noise import SecureNoise  # noqa: E402
from trialsynth.plan import Roles, TrialPlan  # noqa: E402
from trialsynth.synthesisers.aim import AimSynthesiser  # noqa: E402
from trialsynth.synthesisers.mst import MstSynthesiser  # noqa: E402

DOMAIN = PublicDomain(
    (
        ColumnDomain("arm", levels=(0, 1), missing=False),
        ColumnDomain("band", levels=("a", "b", "c"), missing=False),
        ColumnDomain("post", levels=(0, 1), missing=False),
    )
)


class ScaledNoise(SecureNoise):
    """The production noise times ``scale`` (< 1: a deliberately broken mechanism)."""

    def __init__(self, scale: float) -> None:
        self.scale = scale

    def discrete_gaussian(self, sigma: float, size: int) -> np.ndarray:
        return super().discrete_gaussian(sigma * self.scale, size)

    def gumbel(self, size: int) -> np.ndarray:
        return super().gumbel(size) * self.scale  # less randomness in the selection too


AIM_AUDIT = {  # plain AIM, small enough for thousands of whole fits
    "workload": "pairs",
    "n_bins": 8,
    "rounds_per_column": 2,
    "max_rounds": 3,
    "batch": 1,
    "round_iterations": 50,
    "final_iterations": 50,
}


def datasets(n: int = 2000) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(0)
    real = pd.DataFrame(
        {"arm": rng.integers(0, 2, n), "band": rng.choice(["a", "b", "c"], n), "post": rng.integers(0, 2, n)}
    )
    real.loc[0] = [0, "a", 0]
    neighbour = real.copy()
    neighbour.loc[0] = [1, "c", 1]  # one record replaced: every marginal changes
    return real, neighbour


def _counts(codes: dict, mapping: dict, clique: tuple, size: int) -> np.ndarray:
    """True counts of ``clique`` on the compressed codes a release measured."""
    mapped = [mapping[c][codes[c]] for c in clique]
    shape = [int(mapping[c].max()) + 1 for c in clique]
    flat = np.ravel_multi_index(mapped, shape) if len(clique) > 1 else mapped[0]
    return np.bincount(flat, minlength=size).astype(float)


def _aim_statistic(model: AimSynthesiser, codes: dict, codes2: dict) -> float:
    """AIM's every measurement in the likelihood-ratio direction (after a whole fit)."""
    total = 0.0
    identity = {c: np.arange(model.scheme_[c].size) for c in model.one_way_}
    for column, y in model.one_way_.items():  # over the bins' own codes
        mu = _counts(codes, identity, (column,), y.size)
        mu2 = _counts(codes2, identity, (column,), y.size)
        total += float(np.dot(y - mu, mu2 - mu)) / model.sigma_one_way_**2
    for measured in model.measured_:  # over the compressed codes
        y = np.asarray(measured.noisy_measurement, dtype=float)
        mu = _counts(codes, model.mapping_, measured.clique, y.size)
        mu2 = _counts(codes2, model.mapping_, measured.clique, y.size)
        total += float(np.dot(y - mu, mu2 - mu)) / measured.stddev**2
    return total


def audit(releases: int, epsilon: float, delta: float, scale: float, method: str = "mst") -> dict:
    from trialsynth.synthesisers.discretise import bins_from_domain, encode

    real, neighbour = datasets()
    plan = TrialPlan(
        archive="audit", trial_id="t", roles=Roles("arm", ("post",)), seed=0, data_path="t.csv", domain=DOMAIN
    )
    (d, meta), (d2, meta2) = clean_public(real, plan), clean_public(neighbour, plan)
    scheme = bins_from_domain(DOMAIN, AIM_AUDIT["n_bins"] if method == "aim" else 32)
    codes, codes2 = encode(d, scheme), encode(d2, scheme)
    model = MstSynthesiser(epsilon=epsilon, delta=delta, preserve="none")
    noise = ScaledNoise(scale)

    def statistic(data, m) -> float:
        """The likelihood-ratio direction between D and D' given this release's compression."""
        if method == "aim":
            aim = AimSynthesiser(**AIM_AUDIT, epsilon=epsilon, delta=delta).fit(data, m, noise=noise)
            return _aim_statistic(aim, codes, codes2)
        total = 0.0
        for measured in model.measure(data, m, noise=noise):
            y = np.asarray(measured.noisy_measurement, dtype=float)
            mu = _counts(codes, model.mapping_, measured.clique, y.size)
            mu2 = _counts(codes2, model.mapping_, measured.clique, y.size)
            total += float(np.dot(y - mu, mu2 - mu)) / measured.stddev**2
        return total

    start = time.perf_counter()
    t0 = np.array([statistic(d, meta) for _ in range(releases)])
    t1 = np.array([statistic(d2, meta2) for _ in range(releases)])
    seconds = time.perf_counter() - start
    best, where = 0.0, None
    for threshold in np.quantile(np.concatenate([t0, t1]), np.linspace(0.001, 0.999, 400)):
        for positives, negatives, thr in ((t1, t0, threshold), (-t0, -t1, -threshold)):
            tp, fp = int((positives > thr).sum()), int((negatives > thr).sum())
            tpr_low = beta.ppf(0.025, tp, releases - tp + 1) if tp > 0 else 0.0
            fpr_high = beta.ppf(0.975, fp + 1, releases - fp) if fp < releases else 1.0
            if tpr_low - delta > 0 and fpr_high > 0:
                value = math.log((tpr_low - delta) / fpr_high)
                if value > best:
                    best, where = value, {"threshold": round(float(thr), 4), "tp": tp, "fp": fp}
    return {
        "epsilon_lb": best,
        "at": where,
        "seconds": seconds,
        "per_release_ms": 1000 * seconds / (2 * releases),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--releases", type=int, default=20000, help="releases of each dataset")
    parser.add_argument("--epsilon", type=float, default=1.0)
    parser.add_argument("--delta", type=float, default=1e-9)
    parser.add_argument("--noise-scale", type=float, default=1.0, help="< 1: audit a broken mechanism")
    parser.add_argument("--method", choices=("mst", "aim"), default="mst")
    args = parser.parse_args()
    result = audit(args.releases, args.epsilon, args.delta, args.noise_scale, args.method)
    print(
        f"{args.method}: claimed epsilon {args.epsilon:g} (delta {args.delta:g}), "
        f"noise scale {args.noise_scale:g}, "
        f"{args.releases} releases of D and of D' (replace-one neighbours, n = 2,000)"
    )
    print(f"measured epsilon lower bound (95%): {result['epsilon_lb']:.3f} at {result['at']}")
    print(f"{result['seconds']:.1f} s ({result['per_release_ms']:.2f} ms per release)")
    verdict = "below" if result["epsilon_lb"] < args.epsilon else "ABOVE"
    print(f"the lower bound is {verdict} the claimed epsilon")


if __name__ == "__main__":
    main()
