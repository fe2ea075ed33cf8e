"""MST: speed against rows, and the Table 3 row at several epsilons, on study-shaped demo trials.

    python bench/mst.py --scaling 20000 40000 67200 80000
    python bench/mst.py --epsilons 0.1 1 10
    python bench/mst.py --epsilons 0.1 1 10 --low-fidelity
    python bench/mst.py --epsilons 1 --eval-seeds 5 [--low-fidelity]
    python bench/mst.py --tree-bound

``--low-fidelity`` evaluates on the study's kind of data instead: its 67,200-row trial was a
low-fidelity version of the real one, "existing statistical relationships had been removed from the
dataset, and all continuous variables follow a standard gaussian distribution". Here each column of
the demo trial is permuted on its own (marginals and missingness kept, relationships removed) and
every continuous column is redrawn as N(0, 1), rounded to 3 dp, bounded by the public (-5, 5).
The last column, "fresh draw", scores a new sample of the same generator (another seed) against
the trial: what a perfect synthesiser would score, the floor of each metric's sampling noise.
Without the flag the demo keeps its relationships (twelve pre/post pairs that all load on one
ability factor), which a spanning tree cannot carry in full.

Speed: fit and sample seconds at epsilon 1 for each row count (36 columns). JAX compiles mbi's
programs on the first fit in a process; the first size is fitted twice and the difference is
reported as compile time (the domain, hence the compiled programs, does not depend on rows).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from trialsynth.data.cleaning import clean  # noqa: E402
from trialsynth.data.surrogate import TrialShape, demo_roles, make_trial, public_bounds  # noqa: E402
from trialsynth.dp.domain import draft_domain  # noqa: E402
from trialsynth.dp.noise import PublicNoise  # noqa: E402
from trialsynth.evaluation.categories import categorise  # noqa: E402
from trialsynth.evaluation.metrics.evaluate import evaluate  # noqa: E402
from trialsynth.plan import Roles  # noqa: E402
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


def trial(rows: int, low_fidelity: bool = False, seed: int = 20240603):
    frame = make_trial(TrialShape(rows, 36), seed=seed)
    data, meta = clean(frame, Roles.of(**demo_roles(frame)), trial_id="large")
    bounds = public_bounds(data.columns)
    if low_fidelity:
        data, bounds = _low_fidelity(data, bounds, np.random.default_rng(seed + 1))
    return data, meta, bounds


def _low_fidelity(data, bounds, rng):
    """The study's kind of data: columns permuted independently, continuous ones N(0, 1)."""
    out = data.copy()
    for name in out.columns:
        out[name] = out[name].to_numpy()[rng.permutation(len(out))]
    for name in bounds:
        present = out[name].notna().to_numpy()
        values = np.full(len(out), np.nan)
        values[present] = np.clip(np.round(rng.normal(0, 1, present.sum()), 3), -5, 5)
        out[name] = values
    return out, {name: (-5.0, 5.0) for name in bounds}


def timed(data, meta, bounds, epsilon: float):
    start = time.perf_counter()
    model = MstSynthesiser(epsilon=epsilon, random_state=7)
    meta = dataclasses.replace(meta, domain=draft_domain(data, meta.kinds, bounds))  # generated: public
    model.fit(data, meta, noise=PublicNoise(np.random.default_rng(70)))  # a public surrogate: seeded noise
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


def _median_metrics(data, synthetic, meta, seeds: int) -> dict:
    """Table 3 metrics, the median over ``seeds`` evaluation seeds (the utility SVM's training
    sample and the propensity model depend on the seed)."""
    runs = [evaluate(data, synthetic, meta, seed=7 + k) for k in range(seeds)]
    return {key: float(np.median([r[key] for r in runs])) for key in runs[0]}


def epsilons(values: list[float], low_fidelity: bool, seeds: int) -> None:
    data, meta, bounds = trial(67200, low_fidelity)
    rows = {}
    for epsilon in values:
        fit, sample, synthetic = timed(data, meta, bounds, epsilon)
        metrics = _median_metrics(data, synthetic, meta, seeds)
        rows[epsilon] = metrics
        print(f"epsilon {epsilon}: fit {fit:.1f}s sample {sample:.1f}s category {categorise(metrics)}")
    # a perfect synthesiser's score: a fresh sample of the same generator, another seed
    fresh = trial(67200, low_fidelity, seed=20240703)[0][list(data.columns)]
    rows["fresh draw"] = _median_metrics(data, fresh, meta, seeds)
    columns = [f"eps {e}" for e in values] + ["fresh draw"]
    print(f"\n{'metric':<26}" + "".join(f"{c:>12}" for c in columns) + "  study T9 (eps 1)")
    for key in rows[values[0]]:
        study = STUDY_TABLE9_MST_TUNED.get(key, "-")
        print(f"{key:<26}" + "".join(f"{rows[e][key]:>12.4f}" for e in rows) + f"  {study}")


def tree_bound(low_fidelity: bool) -> None:
    """The correlation MSD of the best tree-structured Gaussian model of the trial's evaluation
    view (Chow-Liu tree on |r|; implied correlations are products along tree paths): how close
    any spanning-tree model can come on Pearson correlations, before noise and binning."""
    import networkx as nx

    from trialsynth.evaluation.metrics.prepare import evaluation_view

    data, meta, _ = trial(67200, low_fidelity)
    view, _, context = evaluation_view(data, data, meta, 7)
    r = np.nan_to_num(view[list(context.numeric)].astype(float).corr().to_numpy())
    k = len(r)
    graph = nx.Graph()
    for i in range(k):
        for j in range(i + 1, k):
            graph.add_edge(i, j, weight=-0.5 * np.log(1 - min(r[i, j] ** 2, 1 - 1e-12)))
    tree = nx.maximum_spanning_tree(graph)
    implied = np.eye(k)
    for i in range(k):
        for j, path in nx.single_source_shortest_path(tree, i).items():
            implied[i, j] = np.prod([r[a, b] for a, b in zip(path, path[1:], strict=False)])
    upper = np.triu_indices(k, 1)
    print(f"{k} numeric columns in the evaluation view")
    print(f"correlation MSD, best Gaussian tree: {np.mean((implied[upper] - r[upper]) ** 2):.4f}")
    print(f"correlation MSD, independent columns: {np.mean(r[upper] ** 2):.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scaling", type=int, nargs="*")
    parser.add_argument("--epsilons", type=float, nargs="*")
    parser.add_argument("--low-fidelity", action="store_true", help="the study's kind of data (see above)")
    parser.add_argument("--tree-bound", action="store_true", help="best tree model's correlation MSD")
    parser.add_argument("--eval-seeds", type=int, default=1, help="median metrics over this many seeds")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    if args.tree_bound:
        tree_bound(args.low_fidelity)
    if args.scaling:
        scaling(args.scaling)
    if args.epsilons:
        epsilons(args.epsilons, args.low_fidelity, args.eval_seeds)


if __name__ == "__main__":
    main()
