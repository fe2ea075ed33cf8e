"""One archive, four ways to fan out: 1 worker, 2 worker processes, 2 worker threads, Dask with 2
processes (``--skip`` leaves some out).

For each: wall time of `trialsynth run`, the sum of per-trial work (the catalogue's durations),
the orchestration overhead = wall - work / workers (against ideal parallelism), and a hash of
every released file, which must be the same whatever the parallelism (seeds come from the
archive seed and the trial id, never from scheduling).

    python bench/scale_out.py --trials 16
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

CONFIGS = [
    ("threads x1", ["--workers", "1"], 1),
    ("processes x2", ["--workers", "2"], 2),
    ("threads x2", ["--workers", "2", "--threads"], 2),
    ("dask x2", ["--dask", "--workers", "2"], 2),
]


def run(registry: Path, home: Path, extra: list[str]) -> tuple[float, list[dict], dict[str, str]]:
    env = {**os.environ, "TRIALSYNTH_HOME": str(home)}
    started = time.perf_counter()
    subprocess.run(
        ["trialsynth", "run", "--registry", str(registry), *extra], env=env, check=False, capture_output=True
    )
    wall = time.perf_counter() - started
    listing = subprocess.run(
        ["trialsynth", "catalogue", "--json"], env=env, check=True, capture_output=True, text=True
    )
    records = json.loads(listing.stdout)
    hashes = {}
    for record in records:
        if record["output_path"]:
            hashes[record["trial_id"]] = hashlib.sha256(Path(record["output_path"]).read_bytes()).hexdigest()[
                :16
            ]
    return wall, records, hashes


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--trials", type=int, default=16)
    parser.add_argument("--ea-generations", type=int, default=2000)
    parser.add_argument("--skip", nargs="*", default=[], help="configurations to leave out ('threads x2')")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="scale-out-"))
    subprocess.run(
        ["trialsynth", "demo-archive", str(base / "archive"), "--trials", str(args.trials)],
        check=True,
        capture_output=True,
    )
    registry = base / "archive" / "manifest.yaml"
    manifest = yaml.safe_load(registry.read_text())
    manifest["defaults"]["ea_generations"] = args.ea_generations
    registry.write_text(yaml.safe_dump(manifest, sort_keys=False))
    print(f"{args.trials} trials under {base}")
    print(f"{'how':<14}{'wall s':>9}{'work s':>9}{'overhead s':>12}{'overhead %':>12}  statuses")
    reference = None
    first_wall = None
    for name, extra, workers in CONFIGS:
        if name in args.skip:
            continue
        wall, records, hashes = run(registry, base / name.replace(" ", "-"), extra)
        work = sum(r["duration_s"] or 0 for r in records)
        ideal = work / workers
        statuses = {}
        for r in records:
            statuses[r["status"]] = statuses.get(r["status"], 0) + 1
        share = 100 * (wall - ideal) / wall
        first_wall = first_wall or wall
        print(f"{name:<14}{wall:>9.1f}{work:>9.1f}{wall - ideal:>12.1f}{share:>11.1f}%  {statuses}")
        print(f"{'':<14}speed-up over the first configuration: {first_wall / wall:.2f}x")
        if reference is None:
            reference = hashes
        else:
            same = hashes == reference
            print(f"{'':<14}released files identical to threads x1: {same}")
            if not same:
                differ = sorted(t for t in reference if hashes.get(t) != reference[t])
                print(f"{'':<14}differ: {differ}", file=sys.stderr)


if __name__ == "__main__":
    main()
