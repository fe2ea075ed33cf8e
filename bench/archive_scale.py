"""The whole archive from a fresh home, then again unchanged, then after a deploy that changes no
method: wall time, trial work per route and the slowest trials of each run.

    python bench/archive_scale.py [--trials 128] [--seed 77] [--workers 2]

1. ``trialsynth demo-archive DIR --trials N --seed S`` (the study mix) and ``trialsynth run`` with
   ``--workers`` worker processes from a fresh ``TRIALSYNTH_HOME``: the first run (target: 128
   trials in 15 minutes on 2 cores; its miniature, 24 trials at seed 77, in 170 s).
2. The same command again: every trial ``unchanged`` (target 30 s).
3. A deploy that changes no method: the checkout is cloned, a report template edited and
   committed there, and the clone's code run on the same home (target 60 s, no new ledger row;
   the pages of every release are rendered again by the new commit).

Each run prints its wall time, its statuses, the sum of per-trial work by route (the
catalogue's durations) and the five slowest trials, and the ledger's rows after it. Prefect's
ephemeral server and the worker processes start inside each run, as they do at night.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def cli(code: Path, home: Path, *args: str, text: bool = True) -> subprocess.CompletedProcess:
    """The CLI of the checkout at ``code`` (its own modules first on the path)."""
    env = {**os.environ, "TRIALSYNTH_HOME": str(home), "PYTHONPATH": str(code)}
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args], cwd=code, env=env, capture_output=True, text=text
    )


def run(code: Path, home: Path, registry: Path, workers: int, label: str) -> None:
    started = time.perf_counter()
    done = cli(code, home, "run", "--registry", str(registry), "--workers", str(workers))
    wall = time.perf_counter() - started
    listing = cli(code, home, "catalogue", "--json")
    records = json.loads(listing.stdout or "[]")
    statuses: dict[str, int] = defaultdict(int)
    work: dict[str, float] = defaultdict(float)
    for record in records:
        statuses[record["status"]] += 1
        work[record.get("method") or "none"] += record.get("duration_s") or 0.0
    print(f"\n{label}: wall {wall:.1f} s (exit {done.returncode}); {dict(statuses)}")
    print("  trial work by method: " + ", ".join(f"{m} {s:.0f} s" for m, s in sorted(work.items())))
    print(f"  trial work in all: {sum(work.values()):.0f} s")
    slowest = sorted(records, key=lambda r: -(r.get("duration_s") or 0))[:5]
    for record in slowest:
        print(f"  slowest: {record['trial_id']} {record.get('method')} {record.get('duration_s') or 0:.1f} s")
    rerendered = sum(1 for r in records if (r.get("lineage") or {}).get("rerendered"))
    if rerendered:
        print(f"  pages rendered again: {rerendered} releases")
    print(f"  ledger rows: {_ledger_rows(home)}")


def _ledger_rows(home: Path) -> int:
    sys.path.insert(0, str(ROOT))
    from trialsynth.catalogue.models import EpsilonCharge
    from trialsynth.catalogue.session import default_catalogue_url, make_engine, make_sessionmaker

    sessions = make_sessionmaker(make_engine(default_catalogue_url(home.resolve())))
    with sessions() as session:
        return session.query(EpsilonCharge).count()


def deploy(base: Path) -> Path:
    """A clone of this checkout with one commit that changes a report template, no method."""
    clone = base / "deployed"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    template = clone / "trialsynth" / "reports" / "templates" / "trial.html.j2"
    template.write_text(template.read_text().replace("<h2>Summary</h2>", "<h2>Summary of the release</h2>"))
    git = ["git", "-C", str(clone), "-c", "user.name=bench", "-c", "user.email=bench@localhost"]
    subprocess.run([*git, "commit", "-qam", "A report heading"], check=True)
    return clone


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=128)
    parser.add_argument("--seed", type=int, default=77)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="archive-scale-"))
    home = base / "home"
    archive = base / "archive"
    size = ("--trials", str(args.trials), "--seed", str(args.seed))
    made = cli(ROOT, home, "demo-archive", str(archive), *size)
    if made.returncode != 0:
        sys.exit(made.stderr)
    registry = archive / "manifest.yaml"
    print(f"{args.trials} trials (seed {args.seed}) under {base}; {args.workers} workers")
    run(ROOT, home, registry, args.workers, "first run (fresh home)")
    run(ROOT, home, registry, args.workers, "second run (nothing changed)")
    run(deploy(base), home, registry, args.workers, "after a commit that changes no method")
    shutil.rmtree(base / "deployed", ignore_errors=True)


if __name__ == "__main__":
    main()
