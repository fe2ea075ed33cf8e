"""The small route's fidelity: ``ea`` files on the demo's small trials and the real corpus's.

    python bench/ea_fidelity.py [--generations N] [--only demo|corpus] [--ablate]

Each trial is loaded and cleaned as a run does (the corpus's with its manifest, from
``bench/real_archive.py``), its outputs are cleared, and the EA synthesises from them alone
(seed 0). Printed per trial: the pMSE ratio (the larger of its two levels where the trial has
schools: ``pupils``, ``schools``), the ICC of the primary outcome (real, synthetic), ``coef_mae``
and the seconds; then the median pMSE ratio and the largest ICC gap. With ``--ablate`` each trial
is synthesised a second time from the same outputs without the associations and the atoms (the
EA's first covariates drawn independently, values uniform inside their bins, the school labels
dealt at random): the released outputs' benefit beside what they are.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from trialsynth.data.cleaning import clean, clean_planned  # noqa: E402
from trialsynth.data.schools import icc  # noqa: E402
from trialsynth.data.surrogate import TrialShape, design_roles, make_trial  # noqa: E402
from trialsynth.evaluation.metrics import METRICS, evaluation_view  # noqa: E402
from trialsynth.outputs import clear_outputs  # noqa: E402
from trialsynth.plan import Roles  # noqa: E402
from trialsynth.synthesisers.ea import EaSynthesiser  # noqa: E402

DEMO = [  # the demo's small shapes: pupil- and school-randomised, factorial, narrow
    (TrialShape(1200, 20, cluster_randomised=False), 1),
    (TrialShape(2500, 18), 2),
    (TrialShape(3800, 22), 5),
    (TrialShape(1500, 16, cluster_randomised=False, design="factorial"), 3),
    (TrialShape(2500, 0, design="narrow"), 4),
]
CORPUS = ["thornton-hiv", "nsw-jobs", "arthritis-ordinal", "dietox-factorial", "migraine-long", "pbc-labs"]
CORPUS += ["resume-callback"]


def trials(only: str | None, generations: int):
    if only in (None, "demo"):
        for shape, seed in DEMO:
            frame = make_trial(shape, seed)
            data, meta = clean(frame, Roles.of(**design_roles(frame, shape)), trial_id="demo")
            yield f"demo-{shape.n_rows}-{shape.design}", data, meta, {}
    if only in (None, "corpus"):
        import tempfile

        import real_archive

        from registry.manifest import load_manifest
        from registry.plans import build_plan
        from trialsynth.data.loading import load_trial_data

        path = real_archive.write_corpus(
            Path(tempfile.mkdtemp(prefix="ea-fidelity-")), generations, ids=CORPUS
        )
        manifest = load_manifest(path)
        for trial_id in CORPUS:
            plan = build_plan(manifest, manifest.trial(trial_id))
            frame, _ = load_trial_data(plan.data_path, plan.trial_id)
            data, meta = clean_planned(frame, plan)
            yield trial_id, data, meta, dict(plan.bounds)


def without_associations(outputs):
    """The same outputs without the associations, the atoms and the school ICC."""
    variables = tuple(replace(v, atoms=(), atom_shares=()) for v in outputs.variables)
    return replace(
        outputs,
        variables=variables,
        latent_names=(),
        latent_correlations=(),
        latent_orders=(),
        school_icc=None,
    )


def measure(name, data, meta, outputs, generations):
    start = time.perf_counter()
    ea = EaSynthesiser(generations=generations, random_state=0).fit_outputs(outputs)
    synthetic = ea.sample(len(data), np.random.default_rng(0))
    seconds = time.perf_counter() - start
    real_view, synth_view, context = evaluation_view(data, synthetic, meta, seed=1)
    pmse = METRICS["propensity"](real_view, synth_view, context)
    icc_real = icc(data, meta.primary_outcome, meta.cluster) if meta.cluster else None
    icc_synth = icc(synthetic, meta.primary_outcome, meta.cluster) if meta.cluster else None
    return {
        "trial": name,
        "pmse": pmse["pmse_ratio"],
        "pupils": pmse.get("pmse_ratio_pupils"),
        "schools": pmse.get("pmse_ratio_schools"),
        "icc_real": icc_real,
        "icc_synth": icc_synth,
        "coef_mae": ea.coef_mae(synthetic),
        "seconds": seconds,
    }


def _f(value, digits=3):
    return "-" if value is None else f"{value:.{digits}f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generations", type=int, default=2000)
    parser.add_argument("--only", choices=["demo", "corpus"])
    parser.add_argument("--ablate", action="store_true", help="also without associations and atoms")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    print(f"{'trial':<24} {'variant':<12} {'pmse':>6} {'pupils':>6} {'schools':>7} {'icc_real':>8} "
          f"{'icc_syn':>8} {'coef_mae':>8} {'seconds':>7}")  # fmt: skip
    results: dict[str, list[dict]] = {"released": [], "independent": []}
    for name, data, meta, bounds in trials(args.only, args.generations):
        outputs = clear_outputs(data, meta, bounds=bounds)
        variants = [("released", outputs)] + (
            [("independent", without_associations(outputs))] if args.ablate else []
        )
        for variant, released in variants:
            row = measure(name, data, meta, released, args.generations)
            results[variant].append(row)
            print(
                f"{name:<24} {variant:<12} {row['pmse']:6.2f} {_f(row['pupils'], 2):>6} "
                f"{_f(row['schools'], 2):>7} {_f(row['icc_real']):>8} {_f(row['icc_synth']):>8} "
                f"{row['coef_mae']:8.4f} {row['seconds']:7.1f}",
                flush=True,
            )
    for variant, rows in results.items():
        if not rows:
            continue
        gaps = [abs(r["icc_real"] - r["icc_synth"]) for r in rows if r["icc_real"] is not None]
        print(
            f"{variant}: median pMSE ratio {statistics.median(r['pmse'] for r in rows):.2f} over {len(rows)} "
            f"files; largest ICC gap {max(gaps) if gaps else float('nan'):.3f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
