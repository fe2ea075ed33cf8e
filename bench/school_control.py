"""Disclosure of CART files with and without the school-level control, per trial.

    python bench/school_control.py [--demo N] [--corpus] [--out DIR] [--seed S]

For every trial routed to ``cart`` in a demo archive of N trials (``trialsynth demo-archive``)
and, with ``--corpus``, in the real-data corpus of ``bench/real_archive.py``: the trial is
loaded, cleaned and split as a run does (holdout from its own stream), then CART is fitted on
the training rows twice - as they are ("before") and after ``school_control.group_schools``
(fitted on school groups, each group's rows dealt into equal schools after sampling: "after").
Prints per file: the school re-identification share and size correlation, the four attack
measures, the primary outcome's ICC (real and synthetic), the treatment-effect CI overlap and
the pMSE ratio (what the control costs). Trials without schools print "-" for the school
measures.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from registry.demo import write_demo_archive  # noqa: E402
from registry.manifest import load_manifest  # noqa: E402
from registry.plans import build_plans  # noqa: E402
from trialsynth.data.loading import load  # noqa: E402
from trialsynth.disclosure.schools import assign_schools, group_schools  # noqa: E402
from trialsynth.evaluation.metrics import METRICS, evaluation_view  # noqa: E402
from trialsynth.evaluation.metrics.schools import school_disclosure  # noqa: E402
from trialsynth.evaluation.metrics.trial_analysis import trial_analysis  # noqa: E402
from trialsynth.run.sequence import clean_trial, holdout_of  # noqa: E402
from trialsynth.streams import Streams  # noqa: E402
from trialsynth.synthesisers.cart import CartSynthesiser  # noqa: E402
from trialsynth.synthesisers.routing import route  # noqa: E402

KEYS = ("singling_out_risk", "linkability_risk", "inference_risk", "dcr_share")


def _cell(value, digits=3) -> str:
    return "-" if value is None or (isinstance(value, float) and np.isnan(value)) else f"{value:.{digits}g}"


def run(manifest_path: Path, label: str, only: list[str] | None = None) -> None:
    manifest = load_manifest(manifest_path)
    known = {t.id for t in manifest.trials}
    for plan in build_plans(manifest, [t for t in only if t in known] if only else None):
        if plan.data_path is None:
            continue
        loaded = load(plan)
        chosen = route(len(loaded.frame), plan.method, plan.policy)
        if chosen.method != "cart":
            continue
        cleaned = clean_trial(loaded, plan, chosen)
        streams = Streams(plan.seed)
        held = holdout_of(cleaned, plan, CartSynthesiser)
        training = held.training(cleaned.data)
        meta = cleaned.meta
        for when in ("before", "after"):
            data, control, fit_meta = training, None, meta
            if when == "after":
                data, control = group_schools(training, meta)
                fit_meta = control.fit_meta(meta)
            synthetic = CartSynthesiser(random_state=streams.seed_of("fit")).fit(data, fit_meta)
            synthetic = synthetic.sample(len(cleaned.data), streams.generator("sample"))
            if control is not None:
                synthetic = assign_schools(synthetic, meta, control, streams.generator("schools"))
            schools = school_disclosure(cleaned.data, synthetic, meta)
            real_view, synth_view, ctx = evaluation_view(
                cleaned.data, synthetic, meta, streams.seed_of("evaluate"), held.mask
            )
            risks = METRICS["attacks"](real_view, synth_view, ctx)
            risks.update(METRICS["propensity"](real_view, synth_view, ctx))
            effects, _ = trial_analysis(cleaned.data, synthetic, meta, cleaned.covariates)
            print(
                f"{label + ':' + plan.trial_id:<26} {when:<7} {len(cleaned.data):>6} "
                f"{_cell(schools['school_reidentification']):>8} "
                f"{_cell(schools['school_size_correlation']):>8} "
                + "".join(f"{_cell(risks[k]):>8}" for k in KEYS)
                + f"{_cell(effects.get('icc_real')):>8}{_cell(effects.get('icc_synthetic')):>8}"
                f"{_cell(effects.get('effect_ci_overlap')):>8}{_cell(risks['pmse_ratio']):>8}",
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo", type=int, default=24, help="trials in the demo archive (0: none)")
    parser.add_argument("--corpus", action="store_true", help="also the real-data corpus")
    parser.add_argument("--out", help="working directory (default: a new temporary one)")
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--trial", action="append", dest="trials", help="only this trial (repeatable)")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    work = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="trialsynth-schools-"))
    print(
        f"{'trial':<26} {'file':<7} {'rows':>6} {'school':>8} {'size_r':>8}"
        + "".join(f"{k.replace('_risk', '')[:8]:>8}" for k in KEYS)
        + f"{'icc_real':>8}{'icc_syn':>8}{'effect':>8}{'pmse':>8}"
    )
    if args.demo:
        run(write_demo_archive(work / "demo", n_trials=args.demo, seed=args.seed), "demo", args.trials)
    if args.corpus:
        from real_archive import write_corpus

        run(write_corpus(work / "corpus", 200, ids=args.trials), "corpus", args.trials)


if __name__ == "__main__":
    main()
