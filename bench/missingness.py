"""Missingness fidelity: native NA handling vs Appendix A's indicator + imputation route, with
scikit-learn's IterativeImputer (``indicator``) or the study's hyperimpute (``hyperimpute``, run
in the comparator environment: ``trialsynth env create comparators``; skipped without it).

For each CART engine and missing-value mode, over ``--repeat`` seeds on the demo 9,900 x 22
trial (12% attrition in every post-test, more for FSM pupils; item non-response elsewhere):
- rate MAE: mean absolute difference of per-column missing shares;
- joint MAE: mean absolute difference of the correlation matrix of the missingness indicators
  (attrition makes the post-tests go missing together);
- MAR MAE: mean absolute difference of missing shares within FSM groups (missing at random on FSM);
- corr MSD and pMSE ratio of the whole file (``trialsynth.evaluation.metrics.evaluate``): what the imputed
  values do to relationships.
The hyperimpute mode's seconds include its worker's start (about 10 s) and hyperimpute itself.

    python bench/missingness.py --repeat 3
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

from trialsynth.comparators.environment import location, status  # noqa: E402
from trialsynth.data.cleaning import clean  # noqa: E402
from trialsynth.data.surrogate import TrialShape, demo_roles, make_trial  # noqa: E402
from trialsynth.evaluation.metrics.evaluate import evaluate  # noqa: E402
from trialsynth.plan import Roles  # noqa: E402
from trialsynth.synthesisers.cart import ENGINES, MISSING_MODES, CartSynthesiser  # noqa: E402


def missingness_errors(real: pd.DataFrame, synth: pd.DataFrame, by: str) -> dict[str, float]:
    columns = [c for c in real.columns if real[c].isna().any()]
    r, s = real[columns].isna(), synth[columns].isna()
    joint = np.nanmean(np.abs(r.astype(float).corr().to_numpy() - s.astype(float).corr().to_numpy()))
    mar = np.mean(
        [abs(r[real[by] == g].mean() - s[synth[by] == g].mean()).mean() for g in real[by].dropna().unique()]
    )
    return {
        "rate_mae": float((r.mean() - s.mean()).abs().mean()),
        "joint_mae": float(joint),
        "mar_mae": float(mar),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    demo = make_trial(TrialShape(9900, 22), seed=20240601)
    data, meta = clean(demo, Roles.of(**demo_roles(demo, ["post_test_1"])), trial_id="demo")
    print(
        f"{'engine':<10}{'missing':<12}{'rate_mae':>10}{'joint_mae':>11}{'mar_mae':>10}"
        f"{'corr_msd':>10}{'pmse':>8}{'fit+sample':>12}"
    )
    ready = status(location())
    for engine in ENGINES:
        for mode in MISSING_MODES:
            if mode == "hyperimpute" and not ready.ready:
                print(f"{engine:<10}{mode:<12}skipped: {ready.reason}")
                continue
            errors, seconds = [], []
            for seed in range(args.repeat):
                start = time.perf_counter()
                model = CartSynthesiser(engine=engine, missing=mode, random_state=seed).fit(data, meta)
                synthetic = model.sample(len(data), np.random.default_rng(seed))
                seconds.append(time.perf_counter() - start)
                scores = evaluate(data, synthetic, meta, seed)
                errors.append(
                    missingness_errors(data, synthetic, by="pupil_fsm")
                    | {"corr_msd": scores["corr_msd"], "pmse_ratio": scores["pmse_ratio"]}
                )
            med = {k: statistics.median(e[k] for e in errors) for k in errors[0]}
            print(
                f"{engine:<10}{mode:<12}{med['rate_mae']:>10.4f}{med['joint_mae']:>11.4f}"
                f"{med['mar_mae']:>10.4f}{med['corr_msd']:>10.5f}{med['pmse_ratio']:>8.2f}"
                f"{statistics.median(seconds):>11.2f}s",
                flush=True,
            )


if __name__ == "__main__":
    main()
