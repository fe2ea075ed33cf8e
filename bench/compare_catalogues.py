"""Compare runs of one archive: route, category and every metric per trial, one column per run.

    python bench/compare_catalogues.py --reference old-a.json old-b.json old-c.json --candidate new.json

Each file is the output of ``trialsynth catalogue --json``. For every trial and metric it prints
the reference runs' range (their seed-to-seed spread) and the candidate's value, flagged ``OUT``
when the candidate falls outside the reference range widened by half its width (or by 1e-4 when
the reference runs agree exactly).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


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
        refs = [r[trial] for r in references]
        cands = [c[trial] for c in candidates]
        routes = {r["method"] for r in refs}, {c["method"] for c in cands}
        cats = sorted({r["ons_category"] for r in refs}), sorted({c["ons_category"] for c in cands})
        print(
            f"\n{trial}: method {sorted(routes[0])} -> {sorted(routes[1])}; category {cats[0]} -> {cats[1]}"
        )
        outside += routes[0] != routes[1]
        for key in sorted(refs[0]["metrics"] or {}):
            values = [r["metrics"][key] for r in refs if r["metrics"] and r["metrics"][key] is not None]
            new = [c["metrics"][key] for c in cands if c["metrics"] and c["metrics"][key] is not None]
            if not values or not new:
                continue
            low, high = min(values), max(values)
            slack = max((high - low) / 2, 1e-4)
            flag = "" if all(low - slack <= v <= high + slack for v in new) else "OUT"
            outside += bool(flag)
            shown = ", ".join(f"{v:.4g}" for v in new)
            print(f"  {key:<26} reference {low:.4g} .. {high:.4g}   candidate {shown}  {flag}")
    print(f"\n{outside} route or metric values outside the reference spread")


if __name__ == "__main__":
    main()
