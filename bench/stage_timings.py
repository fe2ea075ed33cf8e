"""Per-trial stage timings (load, clean, fit, sample, evaluate, gate, write) on a study-mix archive.

Runs the engine's own per-trial pipeline (no Prefect, so orchestration is not in the figures)
on a generated demo archive or on a given registry, ``--repeat`` times, and prints the median of
each stage per trial. For the study's 9,900 x 22 shape it also prints the Table 3 metrics next to
the study's Table 5 Conditional CART column.

    python bench/stage_timings.py --trials 6 --repeat 3
    python bench/stage_timings.py --shape 9900x22 --repeat 5
    python bench/stage_timings.py --registry path/to/manifest.yaml
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import uuid
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from registry.demo import TrialShape, demo_plan, write_demo_archive  # noqa: E402
from registry.manifest import load_manifest  # noqa: E402
from registry.plans import build_plans  # noqa: E402
from trialsynth.catalogue import as_record, history  # noqa: E402
from trialsynth.catalogue.session import make_engine, make_sessionmaker  # noqa: E402
from trialsynth.evaluation.metrics.study import STUDY_TABLE5_CART  # noqa: E402
from trialsynth.plan import RunContext  # noqa: E402
from trialsynth.run.pipeline import run_trial  # noqa: E402

STAGES = ("load", "clean", "fit", "sample", "evaluate", "gate", "write")


def _plan(args) -> list[TrialShape]:
    if args.shape:
        rows, cols = (int(v) for v in args.shape.lower().split("x"))
        return [TrialShape(rows, cols)]
    return demo_plan(args.trials)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=6, help="demo archive size (study mix)")
    parser.add_argument("--shape", help="a single trial of ROWSxCOLS instead of the mix, e.g. 9900x22")
    parser.add_argument("--registry", help="an existing manifest instead of a generated archive")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    work = Path(tempfile.mkdtemp(prefix="trialsynth-bench-"))
    registry = (
        Path(args.registry) if args.registry else write_demo_archive(work / "archive", plan=_plan(args))
    )
    manifest = load_manifest(registry)
    sessions = make_sessionmaker(make_engine(f"sqlite:///{work / 'catalogue.db'}"))
    for repeat in range(args.repeat):
        run_id = str(uuid.uuid4())
        context = RunContext(
            run_id=run_id, out_dir=work / "out", cache_dir=work, force=True
        )  # every repeat runs
        for plan in build_plans(manifest):
            outcome = run_trial(plan, sessions, context)
            print(
                f"repeat {repeat + 1} {plan.trial_id}: {outcome.status} {outcome.method} "
                f"{outcome.duration_s:.2f}s"
            )
    with sessions() as session:
        records = [as_record(a) for a in history(session)]
    _print_timings(records)
    _print_table5(records)


def _print_timings(records: list[dict]) -> None:
    print("\nmedian seconds per stage (over repeats)")
    print(
        f"{'trial':<11}{'rows':>7}{'cols':>5} {'method':<7}"
        + "".join(f"{s:>9}" for s in STAGES)
        + f"{'fit+sample':>11}"
    )
    for trial_id in sorted({r["trial_id"] for r in records}):
        rows = [r for r in records if r["trial_id"] == trial_id]
        medians = {s: statistics.median(r["timings"].get(s, float("nan")) for r in rows) for s in STAGES}
        fit_sample = statistics.median(
            r["timings"].get("fit", 0) + r["timings"].get("sample", 0) for r in rows
        )
        last = rows[-1]
        print(
            f"{trial_id:<11}{last['n_rows'] or 0:>7}{last['n_cols'] or 0:>5} {last['method'] or '-':<7}"
            + "".join(f"{medians[s]:>9.2f}" for s in STAGES)
            + f"{fit_sample:>11.2f}"
        )


def _print_table5(records: list[dict]) -> None:
    mid = [r for r in records if r["n_rows"] == 9900 and r["metrics"]]
    if not mid:
        return
    print("\nTable 3 metrics, 9,900-row trial (median over repeats) vs the study's Table 5 CART column")
    for key in mid[0]["metrics"]:
        values = [r["metrics"][key] for r in mid if r["metrics"][key] is not None]
        if not values:
            continue
        ours = statistics.median(values)
        study = STUDY_TABLE5_CART.get(key)
        print(f"  {key:<26}{ours:>12.4f}   study: {'-' if study is None else study}")
    print(f"  ONS category: {[r['ons_category'] for r in mid]}")


if __name__ == "__main__":
    main()
