"""What the tuned epsilon buys against the cap, on the bundled archive's large trial.

    TRIALSYNTH_HOME=DIR python bench/dp_epsilon.py [--repeats 2] [--epsilons 0.3 1]

The MST route tunes epsilon on a public surrogate of the trial's shape (``mst_tuning.py``); this
script asks what that choice costs in fidelity. It takes the bundled demo archive's 67,200 x 36
trial through the route as a run does (its codebook, public cleaning), tunes (or reuses the
tuning stored under ``$TRIALSYNTH_HOME/mst-tuning``), then fits MST at the tuned epsilon and at
each ``--epsilons`` value (default: the policy cap), ``--repeats`` times each with fresh secure
noise, and prints the median of the Table 3 metrics that decide the ONS category and the
categories reached. The trial is generated, so the noise need not be secret here; it is anyway.
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

from registry.bundled import bundled_registry  # noqa: E402
from registry.manifest import load_manifest  # noqa: E402
from registry.plans import build_plan  # noqa: E402
from trialsynth.data.loading import load  # noqa: E402
from trialsynth.evaluation.categories import categorise  # noqa: E402
from trialsynth.evaluation.metrics.evaluate import evaluate  # noqa: E402
from trialsynth.run.sequence import clean_trial  # noqa: E402
from trialsynth.synthesisers.mst import MstSynthesiser  # noqa: E402
from trialsynth.synthesisers.routing import route  # noqa: E402

KEYS = ("corr_msd", "corr_ratio_msd", "pmse_ratio", "feature_density_mad", "f1_diff")


def main() -> None:
    from flows.environment import home

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--epsilons", type=float, nargs="*", default=None, help="default: the policy cap")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    manifest = load_manifest(bundled_registry(home()))
    trial = max(manifest.trials, key=lambda t: manifest.data_path(t).stat().st_size)
    plan = build_plan(manifest, trial)
    loaded = load(plan)
    chosen = route(len(loaded.frame), plan.method, plan.policy)
    cleaned = clean_trial(loaded, plan, chosen)
    n_rows, n_cols = cleaned.data.shape
    start = time.perf_counter()
    tuning = MstSynthesiser.tune(plan, n_rows, n_cols, seed=1, cache_dir=home())
    tuned = tuning.params if tuning else {"epsilon": plan.policy.epsilon_cap}
    print(
        f"{plan.trial_id}: {n_rows} x {n_cols}, route {chosen.method}; "
        f"tuning {time.perf_counter() - start:.0f} s "
        f"-> {tuned} (reused: {tuning.reused_from if tuning else None})"
    )
    settings = [("tuned", tuned)] + [
        (f"epsilon {e:g}", {**tuned, "epsilon": e}) for e in (args.epsilons or [plan.policy.epsilon_cap])
    ]
    print(f"{'setting':<16}{'epsilon':>8}" + "".join(f"{k:>21}" for k in KEYS) + "  categories   fit s")
    for label, params in settings:
        rows, categories, seconds = [], [], []
        for repeat in range(args.repeats):
            begin = time.perf_counter()
            model = MstSynthesiser(**params).fit(cleaned.data, cleaned.meta)
            seconds.append(time.perf_counter() - begin)
            synthetic = model.sample(n_rows, np.random.default_rng(repeat))
            metrics = evaluate(cleaned.data, synthetic, cleaned.meta, seed=repeat)
            rows.append(metrics)
            categories.append(categorise(metrics))
        medians = [statistics.median(abs(r[k]) for r in rows if r.get(k) is not None) for k in KEYS]
        print(
            f"{label:<16}{params['epsilon']:>8.3f}"
            + "".join(f"{m:>21.5f}" for m in medians)
            + f"  {','.join(categories)}  {statistics.median(seconds):.0f}"
        )


if __name__ == "__main__":
    main()
