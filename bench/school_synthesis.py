"""Clustered trials on the CART route: the school-group control against two-level synthesis.

    python bench/school_synthesis.py [--demo N] [--demo-seed S] [--corpus] [--seeds K] [--trial ID]...

For every trial routed to ``cart`` in a demo archive of N trials (``trialsynth demo-archive``) and,
with ``--corpus``, in the real-data corpus of ``bench/real_archive.py``: the trial is loaded,
cleaned and split as a run does (holdout from its own stream), then synthesised K times (seeds
0..K-1) in two ways:

- ``groups``: the earlier control - schools put in groups of five, school-level values replaced by
  their group's, CART fitted on the group label, each group's rows dealt into equal schools after
  (``disclosure.schools.group_schools``);
- ``two-level``: new schools drawn from a model of the school table, then their pupils
  (``synthesisers.cart_schools``), a long-format file's rows one by one;
- ``units``: as ``two-level``, a long-format file's rows drawn pupil by pupil
  (``synthesisers.cart_units``: the route's own for a file with a ``unit``).

Prints per file the median over the seeds (and the worst CI overlap): the school re-identification
share, the four attack measures, the ICC of the primary outcome (real, synthetic), the primary
treatment effect's CI overlap, the pMSE ratio (``pmse``: the larger of its two levels, ``pupils``
and ``schools``, ``fidelity.school_level_ratio``) and, beside it, the ratio of one propensity
model over every column against the rows' null (``pmse_rows``: the measure before two-level
evaluation), the ICC of the primary outcome within pupils of a long-format file (real,
synthetic: ``pupil_real``, ``pupil_syn``; the synthetic pupils as released), and the seconds
of fit + sample.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from registry.demo import write_demo_archive  # noqa: E402
from registry.manifest import load_manifest  # noqa: E402
from registry.plans import build_plans  # noqa: E402
from trialsynth.data.loading import load  # noqa: E402
from trialsynth.data.restore import restore_dropped  # noqa: E402
from trialsynth.disclosure.schools import assign_schools, group_schools  # noqa: E402
from trialsynth.evaluation.metrics import METRICS, evaluation_view  # noqa: E402
from trialsynth.evaluation.metrics.schools import school_disclosure  # noqa: E402
from trialsynth.evaluation.metrics.trial_analysis import trial_analysis  # noqa: E402
from trialsynth.run.sequence import clean_trial, holdout_of  # noqa: E402
from trialsynth.streams import Streams  # noqa: E402
from trialsynth.synthesisers.cart import CartSynthesiser  # noqa: E402
from trialsynth.synthesisers.cart_clustering import shrunken_means  # noqa: E402
from trialsynth.synthesisers.routing import route  # noqa: E402

RISKS = ("singling_out_risk", "linkability_risk", "inference_risk", "dcr_share")
COLUMNS = (
    "school",
    *RISKS,
    "icc_real",
    "icc_syn",
    "effect",
    "worst",
    "pmse",
    "pupils",
    "schools",
    "pmse_rows",
    "pupil_real",
    "pupil_syn",
    "seconds",
)


def _cell(value, digits=3) -> str:
    return "-" if value is None or (isinstance(value, float) and np.isnan(value)) else f"{value:.{digits}g}"


def _median(values: list) -> float | None:
    present = [v for v in values if v is not None and not (isinstance(v, float) and np.isnan(v))]
    return statistics.median(present) if present else None


def one_file(cleaned, held, way: str, seed: int) -> dict:
    """One synthetic file of ``way`` from seed ``seed``, and its measures."""
    training, meta = held.training(cleaned.data), cleaned.meta
    streams = Streams(seed)
    started = time.perf_counter()
    if way == "groups":
        data, control = group_schools(training, meta)
        model = CartSynthesiser(random_state=seed).fit(data, control.fit_meta(meta))
        synthetic = model.sample(len(cleaned.data), streams.generator("sample"))
        synthetic = assign_schools(synthetic, meta, control, streams.generator("schools"))
    else:
        units = held.training_units(cleaned.units) if way == "units" else None
        model = CartSynthesiser(random_state=seed).fit(training, meta, units=units)
        synthetic = model.sample(len(cleaned.data), streams.generator("sample"))
    seconds = time.perf_counter() - started
    pupils = _pupils(cleaned, synthetic, model, streams)
    drawn = model.drawn_units() if way == "units" else None  # dcr_share between pupils
    real_view, synth_view, ctx = evaluation_view(
        cleaned.data, synthetic, meta, seed, held.mask, cleaned.units, drawn
    )
    measured = {
        **METRICS["attacks"](real_view, synth_view, ctx),
        **METRICS["dcr"](real_view, synth_view, ctx),
        **METRICS["propensity"](real_view, synth_view, ctx),
    }
    rows_only = dataclasses.replace(ctx, schools=None, synth_schools=None, school_columns=())
    measured["pmse_ratio_rows"] = METRICS["propensity"](real_view, synth_view, rows_only)["pmse_ratio"]
    effects, _ = trial_analysis(cleaned.data, synthetic, meta, cleaned.covariates)
    return {
        "school": school_disclosure(cleaned.data, synthetic, meta)["school_reidentification"],
        **{k: measured.get(k) for k in RISKS},
        "icc_real": effects.get("icc_real"),
        "icc_syn": effects.get("icc_synthetic"),
        "effect": effects.get("effect_ci_overlap"),
        "pmse": measured.get("pmse_ratio"),
        "pupils": measured.get("pmse_ratio_pupils"),
        "schools": measured.get("pmse_ratio_schools"),
        "pmse_rows": measured.get("pmse_ratio_rows"),
        **pupils,
        "seconds": seconds,
    }


def _pupils(cleaned, synthetic, model, streams) -> dict:
    """The ICC of the primary outcome within pupils, real and synthetic (the synthetic file's
    pupils as a release groups them); none for a file with one row per pupil."""
    unit = next((d for d in cleaned.meta.dropped if d.restore == "units"), None)
    if unit is None or cleaned.units is None:
        return {"pupil_real": None, "pupil_syn": None}
    released = restore_dropped(synthetic, cleaned.meta, streams.generator("restore"), model.drawn_units())
    primary = cleaned.meta.primary_outcome

    def icc(values, ids) -> float:
        return shrunken_means(pd.to_numeric(values, errors="coerce").reset_index(drop=True), pd.Series(ids))[
            1
        ]

    return {
        "pupil_real": icc(cleaned.data[primary], cleaned.units),
        "pupil_syn": icc(released[primary], released[unit.name].to_numpy()),
    }


def run(
    manifest_path: Path,
    label: str,
    seeds: int,
    only: list[str] | None,
    ways: list[str],
    per_seed: bool = False,
) -> None:
    manifest = load_manifest(manifest_path)
    known = {t.id for t in manifest.trials}
    for plan in build_plans(manifest, [t for t in only if t in known] if only else None):
        if plan.data_path is None:
            continue
        loaded = load(plan)
        if route(len(loaded.frame), plan.method, plan.policy).method != "cart" or not (
            plan.roles.cluster or plan.roles.unit
        ):
            continue
        cleaned = clean_trial(loaded, plan, route(len(loaded.frame), plan.method, plan.policy))
        held = holdout_of(cleaned, plan, CartSynthesiser)
        for way in ways:
            files = [one_file(cleaned, held, way, seed) for seed in range(seeds)]
            row = {key: _median([f[key] for f in files]) for key in COLUMNS if key != "worst"}
            row["worst"] = min((f["effect"] for f in files if f["effect"] is not None), default=None)
            name = f"{label}:{plan.trial_id}"
            if per_seed:  # the seed-to-seed spread the medians hide
                effects = " ".join(_cell(f["effect"], 2) for f in files)
                print(f"{name:<26} {way:<9} effect by seed: {effects}", flush=True)
            print(
                f"{name:<26} {way:<9} {len(cleaned.data):>6}"
                + "".join(f"{_cell(row[k]):>10}" for k in COLUMNS),
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo", type=int, default=24, help="trials in the demo archive (0: none)")
    parser.add_argument("--demo-seed", type=int, default=77, help="the demo archive's seed")
    parser.add_argument("--corpus", action="store_true", help="also the real-data corpus")
    parser.add_argument("--seeds", type=int, default=5, help="files per trial and way (medians)")
    parser.add_argument("--way", action="append", dest="ways", choices=("groups", "two-level", "units"))
    parser.add_argument("--out", help="working directory (default: a new temporary one)")
    parser.add_argument("--trial", action="append", dest="trials", help="only this trial (repeatable)")
    parser.add_argument("--per-seed", action="store_true", help="also each seed's effect CI overlap")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    ways = args.ways or ["groups", "two-level"]
    work = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="trialsynth-schools-"))
    print(
        f"{'trial':<26} {'way':<9} {'rows':>6}"
        + "".join(f"{k.replace('_risk', '')[:9]:>10}" for k in COLUMNS)
    )
    if args.demo:
        manifest = write_demo_archive(work / "demo", n_trials=args.demo, seed=args.demo_seed)
        run(manifest, "demo", args.seeds, args.trials, ways, args.per_seed)
    if args.corpus:
        from real_archive import write_corpus

        corpus = write_corpus(work / "corpus", 200, ids=args.trials)
        run(corpus, "corpus", args.seeds, args.trials, ways, args.per_seed)


if __name__ == "__main__":
    main()
