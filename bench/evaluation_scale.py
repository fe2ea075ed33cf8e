"""The evaluate stage at large n: its wall time on a large demo trial, each metric family's own
time, and every figure computed on a sample measured against the exact one.

    python bench/evaluation_scale.py [--rows 67200] [--cols 36] [--repeat 3] [--seed 7]

The trial is the demo generator's (the bundled large shape by default), cleaned as the pipeline
cleans it, a fifth held out; the synthetic file is CART's (fitted on the training rows). The
stage is ``evaluation.trial.evaluate_trial`` as the pipeline calls it (two threads), timed
``--repeat`` times (median). Sampled figures: the local outlier factor behind
``min_nn_distance_outliers`` (scored among ``privacy.OUTLIER_MAX_ROWS`` real rows above that
many), recomputed exactly beside it.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from trialsynth.data.cleaning import Cleaned, clean  # noqa: E402
from trialsynth.data.surrogate import TrialShape, demo_roles, make_trial  # noqa: E402
from trialsynth.evaluation.holdout import Holdout, hold_out  # noqa: E402
from trialsynth.evaluation.metrics import METRICS, privacy  # noqa: E402
from trialsynth.evaluation.metrics.prepare import evaluation_view  # noqa: E402
from trialsynth.evaluation.trial import evaluate_trial  # noqa: E402
from trialsynth.plan import Roles  # noqa: E402
from trialsynth.synthesisers.cart import CartSynthesiser  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=67200)
    parser.add_argument("--cols", type=int, default=36)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    frame = make_trial(TrialShape(args.rows, args.cols), args.seed)
    data, meta = clean(frame, Roles.of(**demo_roles(frame)), trial_id="scale")
    held = hold_out(len(data), 0.2, np.random.default_rng(args.seed), seen_by_synthesiser=False)
    cleaned = Cleaned(data, meta, "bench", ())
    started = time.perf_counter()
    cart = CartSynthesiser(random_state=args.seed).fit(_training(data, held), meta)
    synthetic = cart.sample(len(data), np.random.default_rng(args.seed))
    print(f"trial {len(data):,} x {data.shape[1]}; CART fit and draw {time.perf_counter() - started:.1f} s")
    walls = []
    for repeat in range(args.repeat):
        started = time.perf_counter()
        evaluation = evaluate_trial(cleaned, synthetic, args.seed + repeat, held, {})
        walls.append(time.perf_counter() - started)
        print(f"  evaluate run {repeat + 1}: {walls[-1]:.1f} s")
    print(f"evaluate stage: median {statistics.median(walls):.1f} s over {args.repeat} runs (target <= 30 s)")
    _families(data, synthetic, meta, held, args.seed)
    _sampled_against_exact(data, synthetic, meta, held, args.seed, evaluation.metrics)


def _training(data, held: Holdout):
    return data.loc[~held.mask].reset_index(drop=True)


def _families(data, synthetic, meta, held: Holdout, seed: int) -> None:
    real_view, synth_view, ctx = evaluation_view(data, synthetic, meta, seed, held.mask)
    print("each family alone (one thread):")
    for name, family in METRICS.items():
        started = time.perf_counter()
        family(real_view, synth_view, ctx)
        print(f"  {name:<18} {time.perf_counter() - started:6.1f} s")


def _sampled_against_exact(data, synthetic, meta, held: Holdout, seed: int, metrics: dict) -> None:
    real_view, synth_view, ctx = evaluation_view(data, synthetic, meta, seed, held.mask)
    sampled = metrics.get("min_nn_distance_outliers")
    limit = privacy.OUTLIER_MAX_ROWS
    privacy.OUTLIER_MAX_ROWS = len(data) + 1
    try:
        started = time.perf_counter()
        exact = privacy.nearest_neighbour(real_view, synth_view, ctx)["min_nn_distance_outliers"]
        seconds = time.perf_counter() - started
    finally:
        privacy.OUTLIER_MAX_ROWS = limit
    print(
        f"min_nn_distance_outliers: sampled ({limit:,} real rows scored) {sampled:.4f}, "
        f"exact {exact:.4f} (difference {sampled - exact:+.4f}; the exact family took {seconds:.1f} s)"
    )


if __name__ == "__main__":
    main()
