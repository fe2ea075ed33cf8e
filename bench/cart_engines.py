"""Side by side: the vectorised sequential-CART engine vs synthpop-py, same data, same metrics.

Prints the median fit and sample seconds over ``--repeat`` runs per engine, their ratio, and the
median of every Table 3 metric, for the demo 9,900 x 22 trial and (with ``--sd2011``) R synthpop's
SD2011 example data (5,000 x 35; ``sex`` is taken as the two-arm column, ``income`` as outcome).

    python bench/cart_engines.py --repeat 3 --sd2011 ../shared/data/SD2011.csv
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from trialsynth.data.cleaning import clean  # noqa: E402
from trialsynth.data.surrogate import TrialShape, demo_roles, make_trial  # noqa: E402
from trialsynth.evaluation.metrics.evaluate import evaluate  # noqa: E402
from trialsynth.plan import Roles  # noqa: E402
from trialsynth.synthesisers.cart import ENGINES, CartSynthesiser  # noqa: E402


def datasets(sd2011: str | None):
    demo = make_trial(TrialShape(9900, 22), seed=20240601)
    yield "demo 9,900x22", *clean(demo, Roles.of(**demo_roles(demo, ["post_test_1"])), trial_id="demo")
    if sd2011:
        raw = pd.read_csv(sd2011)
        yield (
            "SD2011 5,000x35",
            *clean(raw, Roles.of(treatment="sex", outcomes=["income"]), trial_id="sd2011"),
        )


def run(name: str, data: pd.DataFrame, meta, repeat: int) -> None:
    print(f"\n{name}: {data.shape[0]:,} rows x {data.shape[1]} columns after cleaning")
    results = {}
    for engine in ENGINES:
        fits, samples, metrics = [], [], []
        for r in range(repeat):
            start = time.perf_counter()
            model = CartSynthesiser(engine=engine, random_state=r).fit(data, meta)
            fitted = time.perf_counter()
            synthetic = model.sample(len(data), np.random.default_rng(r))
            fits.append(fitted - start)
            samples.append(time.perf_counter() - fitted)
            metrics.append(evaluate(data, synthetic, meta, seed=r))
        results[engine] = (fits, samples, metrics)
        total = statistics.median(f + s for f, s in zip(fits, samples, strict=True))
        print(
            f"  {engine:<9} fit {statistics.median(fits):6.2f}s  sample {statistics.median(samples):6.2f}s"
            f"  fit+sample {total:6.2f}s  (median of {repeat})"
        )
    totals = {e: statistics.median(f + s for f, s in zip(*results[e][:2], strict=True)) for e in ENGINES}
    print(f"  speed-up trees vs synthpop: {totals['synthpop'] / totals['trees']:.1f}x")
    print(f"  {'metric':<26}" + "".join(f"{e:>12}" for e in ENGINES))
    for key in results[ENGINES[0]][2][0]:
        row = [statistics.median(m[key] for m in results[e][2]) for e in ENGINES]
        print(f"  {key:<26}" + "".join(f"{v:>12.4f}" for v in row))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sd2011", help="path to SD2011.csv (R synthpop's example data)")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    for name, data, meta in datasets(args.sd2011):
        run(name, data, meta, args.repeat)


if __name__ == "__main__":
    main()
