"""What each rung of CART's ladder of remedies costs and buys, per trial.

    python bench/risk_ladder.py [--demo N] [--demo-seed S] [--trial ID]... [--narrow]

For every trial a run routes to ``cart`` in a demo archive of N trials (with ``--narrow``, also the
demo's narrow coded design and its long-format design routed to ``cart`` whatever their size),
the trial is loaded, cleaned and split as a run does; CART is fitted on the training rows and the
file drawn at each rung of its ladder (``CartSynthesiser.remedies``): as fitted, donors smoothed,
then refitted with leaves of 20 and of 80 rows (smoothed). Prints per rung the disclosure measures
the risk gate reads (the four attacks; the default limits beside) and what the rung costs in
fidelity (pMSE ratio, correlation MSD, feature density MAD, the effect's CI overlap) and the
category, so the price of each remedy sits beside its benefit.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import warnings
from functools import partial
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from registry.demo import TrialShape, demo_plan, write_demo_archive  # noqa: E402
from registry.manifest import load_manifest  # noqa: E402
from registry.plans import build_plans  # noqa: E402
from trialsynth.data.loading import load  # noqa: E402
from trialsynth.defaults import RISK_LIMITS  # noqa: E402
from trialsynth.disclosure.risk import refitted  # noqa: E402
from trialsynth.evaluation.categories import categorise  # noqa: E402
from trialsynth.evaluation.metrics.evaluate import assess  # noqa: E402
from trialsynth.evaluation.metrics.trial_analysis import trial_analysis  # noqa: E402
from trialsynth.run.sequence import clean_trial, holdout_of  # noqa: E402
from trialsynth.streams import Streams  # noqa: E402
from trialsynth.synthesisers.cart import CartSynthesiser  # noqa: E402
from trialsynth.synthesisers.routing import route  # noqa: E402

RISKS = ("singling_out_risk", "linkability_risk", "inference_risk", "dcr_share")
FIDELITY = ("pmse_ratio", "corr_msd", "feature_density_mad", "effect_ci_overlap")


def _cell(value, digits=3) -> str:
    return "-" if value is None or (isinstance(value, float) and np.isnan(value)) else f"{value:.{digits}g}"


def rungs(plan, cleaned, held):
    """(rung name, synthetic file) for the first draw and each remedy, as a run draws them."""
    streams = Streams(plan.seed)
    training = held.training(cleaned.data)
    model = CartSynthesiser(**CartSynthesiser.params_from(plan), random_state=streams.seed_of("fit"))
    model.fit(training, cleaned.meta)
    yield "as fitted", model.sample(len(cleaned.data), streams.generator("sample"))
    for rung in model.remedies():
        if rung.params:
            model = refitted(model, rung)
            model.fit(training, cleaned.meta)
        yield rung.name, model.redraw(len(cleaned.data), streams.generator("resample"))


def run(manifest_path: Path, only: list[str] | None, forced: set[str]) -> None:
    manifest = load_manifest(manifest_path)
    for plan in build_plans(manifest, only):
        if plan.data_path is None:
            continue
        loaded = load(plan)
        chosen = route(len(loaded.frame), plan.method, plan.policy)
        if plan.trial_id in forced:
            chosen = dataclasses.replace(chosen, method="cart")
        if chosen.method != "cart":
            continue
        cleaned = clean_trial(loaded, plan, chosen)
        held = holdout_of(cleaned, plan, CartSynthesiser)
        for name, synthetic in rungs(plan, cleaned, held):
            metrics, _ = assess(
                cleaned.data,
                synthetic,
                cleaned.meta,
                Streams(plan.seed).seed_of("evaluate"),
                held.mask,
                analysis=partial(trial_analysis, cleaned.data, synthetic, cleaned.meta, cleaned.covariates),
            )
            category = categorise(metrics)
            print(
                f"{plan.trial_id:<11}{len(cleaned.data):>7} {name:<34}"
                + "".join(f"{_cell(metrics.get(k)):>10}" for k in RISKS + FIDELITY)
                + f"  {category}",
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo", type=int, default=8, help="trials in the demo archive")
    parser.add_argument("--demo-seed", type=int, default=None, help="the demo archive's seed")
    parser.add_argument("--narrow", action="store_true", help="also the narrow and long designs, as cart")
    parser.add_argument("--trial", action="append", dest="trials", help="only this trial (repeatable)")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    work = Path(tempfile.mkdtemp(prefix="trialsynth-ladder-"))
    plan = demo_plan(args.demo)
    forced: set[str] = set()
    if args.narrow:
        extra = [TrialShape(2500, 0, design="narrow"), TrialShape(6000, 0, design="long", waves=3)]
        forced = {f"trial-{len(plan) + i + 1:03d}" for i in range(len(extra))}
        plan = plan + extra
    seed = {"seed": args.demo_seed} if args.demo_seed is not None else {}
    manifest = write_demo_archive(work, plan=plan, **seed)
    limits = dict(RISK_LIMITS)
    print(
        f"{'trial':<11}{'rows':>7} {'rung':<34}"
        + "".join(f"{k.replace('_risk', '')[:9]:>10}" for k in RISKS + FIDELITY)
        + "  category"
    )
    print(f"{'(limits)':<53}" + "".join(f"{_cell(limits.get(k)):>10}" for k in RISKS))
    run(manifest, args.trials, forced)


if __name__ == "__main__":
    main()
