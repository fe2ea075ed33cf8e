"""Attack risks on files of known leakage, and their cost: ``trialsynth.evaluation.metrics.attacks``.

    python bench/attacks.py [--rows 9900] [--cols 22] [--seed 1] [--anonymeter PYTHON]

The real trial is one half of a generated demo trial (as ``bench/ladder.py``), a holdout share
of it kept from every synthesiser. Rungs: ``split-half`` (other real pupils: no leak),
``cart``, ``mst (eps 1)``, ``independent`` (columns shuffled), ``training-copy`` (the training
rows themselves, resampled to the trial's size: every attack should find them) and
``training-copy-jittered`` (the same with 2% of each numeric column's spread added as noise).
Prints every risk with its 95% interval, ``dcr_share`` and the seconds the attacks took.

With ``--anonymeter PYTHON`` (an interpreter with ``anonymeter`` 1.1.0, which cannot share the
main environment: it pins numpy < 1.27), the same files go to ``anonymeter``'s three evaluators
through Parquet files (``bench/anonymeter_attacks.py`` runs in that interpreter), and its risks
are printed beside ours.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from ladder import halves, rungs  # noqa: E402

from trialsynth.evaluation.metrics.attacks import attacks, dcr, secrets  # noqa: E402
from trialsynth.evaluation.metrics.prepare import evaluation_view  # noqa: E402

RISKS = ("singling_out_risk", "linkability_risk", "inference_risk")


def files(rows: int, cols: int, seed: int):
    real, other, held, meta = halves(rows, cols, seed)
    ladder = rungs(real, held, other, meta, seed)
    rng = np.random.default_rng(seed + 2)
    train = real.loc[~held].reset_index(drop=True)
    copy = train.iloc[rng.choice(len(train), len(real), replace=True)].reset_index(drop=True)
    jittered = copy.copy()
    for name in meta.of_kind("continuous"):
        spread = float(real[name].std())
        jittered[name] = copy[name] + rng.normal(0, 0.02 * spread, len(copy))
    chosen = {k: ladder[k] for k in ("split-half", "cart", "mst (eps 1)", "independent")}
    chosen.update({"training-copy": copy, "training-copy-jittered": jittered})
    return real, held, meta, chosen


def anonymeter_risks(python: str, real_view, synth_view, held, ctx, seed: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        real_view.loc[~held].to_parquet(f"{tmp}/ori.parquet")
        real_view.loc[held].to_parquet(f"{tmp}/control.parquet")
        synth_view.to_parquet(f"{tmp}/syn.parquet")
        spec = {"secrets": secrets(ctx, list(synth_view.columns)), "seed": seed}
        Path(f"{tmp}/spec.json").write_text(json.dumps(spec))
        script = ROOT / "bench" / "anonymeter_attacks.py"
        done = subprocess.run([python, str(script), tmp], capture_output=True, text=True, check=True)
        return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=9900)
    parser.add_argument("--cols", type=int, default=22)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--anonymeter", help="a Python interpreter with anonymeter 1.1.0")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    real, held, meta, chosen = files(args.rows, args.cols, args.seed)
    print(f"real rows {len(real)} (held out {int(held.sum())}), columns {real.shape[1]}")
    head = f"{'file':<24}" + "".join(f"{k[:-5]:>26}" for k in RISKS) + f"{'dcr_share':>11}{'seconds':>9}"
    print(head)
    for name, synthetic in chosen.items():
        real_view, synth_view, ctx = evaluation_view(real, synthetic, meta, args.seed, held)
        start = time.perf_counter()
        found = {**attacks(real_view, synth_view, ctx), **dcr(real_view, synth_view, ctx)}
        seconds = time.perf_counter() - start
        cells = "".join(
            f"{found[k]:>8.3f} [{found[k + '_low']:>6.3f},{found[k + '_high']:>6.3f}]  " for k in RISKS
        )
        print(f"{name:<24}{cells}{found['dcr_share']:>11.3f}{seconds:>9.2f}")
        if args.anonymeter:
            start = time.perf_counter()
            other = anonymeter_risks(args.anonymeter, real_view, synth_view, held, ctx, args.seed)
            seconds = time.perf_counter() - start
            cells = "".join(f"{other[k][0]:>8.3f} [{other[k][1]:>6.3f},{other[k][2]:>6.3f}]  " for k in RISKS)
            print(f"{'  anonymeter':<24}{cells}{'':>11}{seconds:>9.2f}")


if __name__ == "__main__":
    main()
