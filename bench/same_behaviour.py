"""Same behaviour, shown: two runs of one archive with one seed, file by file and metric by metric.

    TRIALSYNTH_HOME=ref trialsynth run; trialsynth catalogue --json > ref.json   (old code)
    TRIALSYNTH_HOME=new trialsynth run; trialsynth catalogue --json > new.json   (new code)
    python bench/same_behaviour.py ref.json new.json

For every trial: the status, method and category of both runs, whether every metric is equal
(exactly), and whether the synthetic files are byte-identical (SHA-256 of each ``output_path``).
A differentially private file's noise comes from the operating system's secure generator, so
two runs never draw the same file: such trials are reported, not required to match.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
from pathlib import Path


def _load(path: str) -> dict[str, dict]:
    return {r["trial_id"]: r for r in json.loads(Path(path).read_text())}


def _sha(path: str | None) -> str | None:
    if not path or not Path(path).is_file():
        return None
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


def compare(reference: dict[str, dict], candidate: dict[str, dict]) -> int:
    """Print one line per trial; returns how many non-DP trials differ."""
    differ = 0
    print(f"{'trial':<10} {'method':<7} {'status':<10} {'category':<24} {'metrics':<16} file")
    for trial in sorted(set(reference) | set(candidate)):
        ref, new = reference.get(trial), candidate.get(trial)
        if ref is None or new is None:
            print(f"{trial:<10} only in the {'candidate' if ref is None else 'reference'} run")
            differ += 1
            continue
        private = ref.get("epsilon") is not None or new.get("epsilon") is not None
        keys = sorted(set(ref["metrics"] or {}) | set(new["metrics"] or {}))
        unequal = [k for k in keys if not _same((ref["metrics"] or {}).get(k), (new["metrics"] or {}).get(k))]
        files = _sha(ref.get("output_path")), _sha(new.get("output_path"))
        same_file = "no file" if files == (None, None) else "identical" if files[0] == files[1] else "DIFFERS"
        metrics = "all equal" if not unequal else f"{len(unequal)} of {len(keys)} differ"
        same = (ref["status"], ref["method"], ref["ons_category"]) == (
            new["status"],
            new["method"],
            new["ons_category"],
        )
        category = (ref["ons_category"] or "-") if same else f"{ref['ons_category']} -> {new['ons_category']}"
        note = "  (DP: secure noise, not compared)" if private else ""
        line = f"{trial:<10} {new['method'] or '-':<7} {new['status']:<10} {category:<24} {metrics:<16}"
        print(f"{line} {same_file}{note}")
        if not private and (not same or unequal or same_file == "DIFFERS"):
            differ += 1
    print(f"\n{differ} trials without differential privacy differ")
    return differ


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reference", help="catalogue JSON of the reference run")
    parser.add_argument("candidate", help="catalogue JSON of the run to check")
    args = parser.parse_args()
    raise SystemExit(1 if compare(_load(args.reference), _load(args.candidate)) else 0)


if __name__ == "__main__":
    main()
