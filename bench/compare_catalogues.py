"""Compare runs of one archive: route, category and every metric per trial, one column per run.

    python bench/compare_catalogues.py --reference old-a.json old-b.json old-c.json --candidate new.json

Each file is the output of ``trialsynth catalogue --json``. For every trial and metric it prints
the median and range of the reference runs (their seed-to-seed spread) and of the candidate
runs, flagged ``OUT`` when the candidates' median falls outside the reference range; a route or
a category the reference runs never gave counts as outside too.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from statistics import median


def _spread(values: list[float]) -> str:
    return f"{median(values):.4g} [{min(values):.4g} .. {max(values):.4g}] (n={len(values)})"


def _load(path: str) -> dict[str, dict]:
    return {r["trial_id"]: r for r in json.loads(Path(path).read_text())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", nargs="+", required=True, help="catalogue JSON of the reference runs")
    parser.add_argument("--candidate", nargs="+", required=True, help="catalogue JSON of the runs to check")
    args = parser.parse_args()
    references = [_load(p) for p in args.reference]
    candidates = [_load(p) for p in args.candidate]
    outside = 0
    for trial in sorted(references[0]):
        refs = [r[trial] for r in references if trial in r]
        cands = [c[trial] for c in candidates if trial in c]
        failed = sum(r["status"] == "failed" for r in refs), sum(c["status"] == "failed" for c in cands)
        refs = [r for r in refs if r["status"] != "failed"]
        cands = [c for c in cands if c["status"] != "failed"]
        if not cands or not refs:
            continue
        routes = {r["method"] for r in refs}, {c["method"] for c in cands}
        cats = sorted({r["ons_category"] for r in refs}), sorted({c["ons_category"] for c in cands})
        print(
            f"\n{trial}: method {sorted(routes[0])} -> {sorted(routes[1])}; category {cats[0]} -> {cats[1]}"
            f"; failed runs {failed[0]} -> {failed[1]}"
        )
        outside += routes[0] != routes[1] or not set(cats[1]) <= set(cats[0])
        for key in sorted(refs[0]["metrics"] or {}):
            values = [r["metrics"][key] for r in refs if r["metrics"] and r["metrics"][key] is not None]
            new = [c["metrics"][key] for c in cands if c["metrics"] and c["metrics"][key] is not None]
            if not values or not new:
                continue
            flag = "" if min(values) <= median(new) <= max(values) else "OUT"
            outside += bool(flag)
            print(f"  {key:<26} reference {_spread(values)}   candidate {_spread(new)}  {flag}")
    print(f"\n{outside} routes, categories or metric medians outside the reference spread")


if __name__ == "__main__":
    main()
