"""MST: speed against rows, and the Table 3 row at several epsilons, on study-shaped demo trials.

    python bench/mst.py --scaling 20000 40000 67200 80000
    python bench/mst.py --epsilons 0.1 1 10

Speed: fit and sample seconds at epsilon 1 for each row count (36 columns). JAX compiles mbi's
programs on the first fit in a process; the first size is fitted twice and the difference is
reported as compile time (the domain, hence the compiled programs, does not depend on rows).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from registry.demo import PUBLIC_BOUNDS, TrialShape, _scale, demo_roles, make_trial  # noqa: E402
from trialsynth.categories import categorise  # noqa: E402
from trialsynth.cleaning import clean  # noqa: E402
from trialsynth.metrics.evaluate import evaluate  # noqa: E402
from trialsynth.synthesisers.mst import MstSynthesiser  # noqa: E402

STUDY_TABLE9_MST_TUNED = {
    "corr_msd": 0.00,
    "feature_density_mad": 0.02,
    "precision_diff": 0.00,
    "recall_diff": 0.00,
    "f1_diff": 0.00,
    "min_nn_distance": 34.15,
    "min_nn_distance_outliers": 34.15,
    "sample_overlap": 0.00,
}


def trial(rows: int):
    frame = make_trial(TrialShape(rows, 36), seed=20240603)
    data, meta = clean(frame, trial_id="large", **demo_roles(frame))
    bounds = {c: PUBLIC_BOUNDS[_scale(c)] for c in data.columns if _scale(c)}
    return data, meta, bounds


def timed(data, meta, bounds, epsilon: float):
    start = time.perf_counter()
    model = MstSynthesiser(epsilon=epsilon, bounds=bounds, random_state=7).fit(data, meta)
    fitted = time.perf_counter()
    synthetic = model.sample(len(data), np.random.default_rng(7))
    return fitted - start, time.perf_counter() - fitted, synthetic


def scaling(sizes: list[int]) -> None:
    print(f"{'rows':>8}{'fit s':>9}{'sample s':>10}{'total s':>9}")
    for i, rows in enumerate(sizes):
        data, meta, bounds = trial(rows)
        fit, sample, _ = timed(data, meta, bounds, 1.0)
        if i == 0:
            fit_again, sample_again, _ = timed(data, meta, bounds, 1.0)
            print(
                f"  first fit in the process: {fit:.1f}s; again: {fit_again:.1f}s; "
                f"JAX compile ~ {fit - fit_again:.1f}s"
            )
            fit, sample = fit_again, sample_again
        print(f"{rows:>8}{fit:>9.1f}{sample:>10.1f}{fit + sample:>9.1f}")


def epsilons(values: list[float]) -> None:
    data, meta, bounds = trial(67200)
    rows = {}
    for epsilon in values:
        fit, sample, synthetic = timed(data, meta, bounds, epsilon)
        metrics = evaluate(data, synthetic, meta, seed=7)
        rows[epsilon] = metrics
        print(f"epsilon {epsilon}: fit {fit:.1f}s sample {sample:.1f}s category {categorise(metrics)}")
    print(f"\n{'metric':<26}" + "".join(f"{'eps ' + str(e):>12}" for e in values) + "  study T9 (eps 1)")
    for key in rows[values[0]]:
        study = STUDY_TABLE9_MST_TUNED.get(key, "-")
        print(f"{key:<26}" + "".join(f"{rows[e][key]:>12.4f}" for e in values) + f"  {study}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scaling", type=int, nargs="*")
    parser.add_argument("--epsilons", type=float, nargs="*")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    if args.scaling:
        scaling(args.scaling)
    if args.epsilons:
        epsilons(args.epsilons)


if __name__ == "__main__":
    main()
