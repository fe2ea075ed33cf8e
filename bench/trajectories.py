"""Long-format files on the CART route: how much of a real pupil's trajectory comes back.

    python bench/trajectories.py [--demo N] [--demo-seed S] [--corpus] [--seeds K] [--trial ID]...

For every long-format trial (a ``unit``) routed to ``cart`` in a demo archive of N trials and, with
``--corpus``, in the real-data corpus of ``bench/real_archive.py``: the trial is loaded, cleaned and
split as a run does, then synthesised K times (seeds 0..K-1) pupil by pupil (``cart_units``) and
measured before the release gate, against the training pupils (what the model saw):

- ``prefix``: of the synthetic pupils with two rows or more, the share whose first two rows equal
  the first two rows of a real pupil whose two first rows no other real pupil shares (the
  intruder's match: a pupil's start of trajectory, each row alone common);
- ``chance``: the same share with the synthetic pupils' second rows shuffled among them (rows
  alike, the pupil's chain broken): the level a model that copied no chain would reach;
- ``whole``: the share of synthetic pupils of several rows whose rows, as a multiset, are a real
  pupil's that no other real pupil has (what the gate's pupil check re-draws);
- ``third``: of the new pupils whose first two rows matched so and who have a third row, the share
  whose third row is the matched real pupil's third row (what an intruder who knows two of a
  pupil's rows learns of the next);
- ``pupil_real``/``pupil_syn``: the ICC of the primary outcome within pupils (fidelity);
- ``effect``: the primary treatment effect's CI overlap; ``seconds``: fit + sample.

Medians over the seeds.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from registry.demo import write_demo_archive  # noqa: E402
from registry.manifest import load_manifest  # noqa: E402
from registry.plans import build_plans  # noqa: E402
from trialsynth.data.loading import load  # noqa: E402
from trialsynth.evaluation.metrics.trial_analysis import trial_analysis  # noqa: E402
from trialsynth.run.sequence import clean_trial, holdout_of  # noqa: E402
from trialsynth.streams import Streams  # noqa: E402
from trialsynth.synthesisers.cart import CartSynthesiser  # noqa: E402
from trialsynth.synthesisers.cart_clustering import shrunken_means  # noqa: E402
from trialsynth.synthesisers.routing import route  # noqa: E402

COLUMNS = ("prefix", "chance", "whole", "third", "pupil_real", "pupil_syn", "effect", "seconds")


def _keys(rows: pd.DataFrame) -> np.ndarray:
    """Each row as one hashable text (missing values alike)."""
    text = rows.astype(object).where(rows.notna(), "\0").astype(str)
    return text.agg("|".join, axis=1).to_numpy(dtype=object)


def _prefixes(keys: np.ndarray, pupils: np.ndarray) -> pd.Series:
    """Each pupil with two rows or more: its first two rows' keys, joined."""
    frame = pd.DataFrame({"pupil": pupils, "key": keys})
    step = frame.groupby("pupil", sort=False).cumcount()
    first, second = frame[step == 0].set_index("pupil")["key"], frame[step == 1].set_index("pupil")["key"]
    return (first.reindex(second.index) + "\n" + second).rename("prefix")


def _thirds(keys: np.ndarray, pupils: np.ndarray) -> pd.Series:
    """Each pupil with three rows or more: its third row's key."""
    frame = pd.DataFrame({"pupil": pupils, "key": keys})
    step = frame.groupby("pupil", sort=False).cumcount()
    return frame[step == 2].set_index("pupil")["key"]


def _third_learnt(real_keys, real_pupils, synth_keys, synth_pupils, unique_prefix: set) -> float | None:
    """Of the new pupils of three rows or more whose first two rows are a training pupil's
    unique first two rows, the share whose third row is that pupil's third row: what an
    intruder who knows two of a pupil's rows learns of the third."""
    real_prefix = _prefixes(real_keys, real_pupils)
    real_third = _thirds(real_keys, real_pupils)
    by_prefix = pd.Series(real_third.reindex(real_prefix.index).to_numpy(), index=real_prefix.to_numpy())
    by_prefix = by_prefix[by_prefix.index.isin(unique_prefix) & by_prefix.notna()]
    prefix, third = _prefixes(synth_keys, synth_pupils), _thirds(synth_keys, synth_pupils)
    matched = prefix.reindex(third.index)
    matched = matched[matched.isin(by_prefix.index)]
    if not len(matched):
        return None
    return float((by_prefix.reindex(matched.to_numpy()).to_numpy() == third[matched.index].to_numpy()).mean())


def _wholes(keys: np.ndarray, pupils: np.ndarray) -> pd.Series:
    """Each pupil of several rows: its rows' keys sorted and joined (a multiset)."""
    frame = pd.DataFrame({"pupil": pupils, "key": keys})
    grouped = frame.groupby("pupil", sort=False)["key"]
    joined = grouped.agg(lambda k: "\n".join(sorted(k)))
    return joined[grouped.size() > 1]


def _unique(values: pd.Series) -> set:
    counts = values.value_counts()
    return set(counts.index[counts == 1])


def copies(real: pd.DataFrame, real_pupils: np.ndarray, synth: pd.DataFrame, synth_pupils: np.ndarray,
           rng: np.random.Generator) -> dict:  # fmt: skip
    """The shares of the module's docstring for one synthetic file."""
    columns = list(real.columns)
    real_keys, synth_keys = _keys(real[columns]), _keys(synth[columns])
    unique_prefix = _unique(_prefixes(real_keys, real_pupils))
    prefix = _prefixes(synth_keys, synth_pupils)
    frame = pd.DataFrame({"pupil": synth_pupils, "key": synth_keys})
    step = frame.groupby("pupil", sort=False).cumcount().to_numpy()
    seconds = np.flatnonzero(step == 1)
    shuffled = synth_keys.copy()
    shuffled[seconds] = synth_keys[rng.permutation(seconds)]
    chance = _prefixes(shuffled, synth_pupils)
    whole = _wholes(synth_keys, synth_pupils)
    unique_whole = _unique(_wholes(real_keys, real_pupils))
    return {
        "prefix": float(prefix.isin(unique_prefix).mean()) if len(prefix) else None,
        "chance": float(chance.isin(unique_prefix).mean()) if len(chance) else None,
        "whole": float(whole.isin(unique_whole).mean()) if len(whole) else None,
        "third": _third_learnt(real_keys, real_pupils, synth_keys, synth_pupils, unique_prefix),
    }


def one_file(cleaned, held, seed: int) -> dict:
    meta = cleaned.meta
    training = held.training(cleaned.data)
    units = held.training_units(cleaned.units)
    streams = Streams(seed)
    started = time.perf_counter()
    model = CartSynthesiser(random_state=seed).fit(training, meta, units=units)
    synthetic = model.sample(len(cleaned.data), streams.generator("sample"))
    seconds = time.perf_counter() - started
    columns = [c for c in synthetic.columns if c != meta.cluster and c in training.columns]
    drawn = model.drawn_units()
    measured = copies(training[columns].reset_index(drop=True), np.asarray(units), synthetic[columns],
                      drawn, np.random.default_rng(seed + 1000))  # fmt: skip
    primary = meta.primary_outcome

    def icc(values: pd.Series, ids: np.ndarray) -> float:
        numbers = pd.to_numeric(values, errors="coerce").reset_index(drop=True)
        return shrunken_means(numbers, pd.Series(ids))[1]

    effects, _ = trial_analysis(cleaned.data, synthetic, meta, cleaned.covariates)
    return {
        **measured,
        "pupil_real": icc(cleaned.data[primary], cleaned.units),
        "pupil_syn": icc(synthetic[primary], drawn),
        "effect": effects.get("effect_ci_overlap"),
        "seconds": seconds,
    }


def _median(values: list) -> float | None:
    present = [v for v in values if v is not None and not (isinstance(v, float) and np.isnan(v))]
    return statistics.median(present) if present else None


def run(manifest_path: Path, label: str, seeds: int, only: list[str] | None) -> None:
    manifest = load_manifest(manifest_path)
    known = {t.id for t in manifest.trials}
    for plan in build_plans(manifest, [t for t in only if t in known] if only else None):
        if plan.data_path is None or not plan.roles.unit:
            continue
        loaded = load(plan)
        routed = route(len(loaded.frame), plan.method, plan.policy)
        if routed.method != "cart":
            continue
        cleaned = clean_trial(loaded, plan, routed)
        if cleaned.units is None:
            continue
        held = holdout_of(cleaned, plan, CartSynthesiser)
        files = [one_file(cleaned, held, seed) for seed in range(seeds)]
        row = {key: _median([f[key] for f in files]) for key in COLUMNS}
        cells = "".join(f"{'-' if row[k] is None else f'{row[k]:.3g}':>11}" for k in COLUMNS)
        print(f"{label + ':' + plan.trial_id:<26} {len(cleaned.data):>6}{cells}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo", type=int, default=8, help="trials in the demo archive (0: none)")
    parser.add_argument("--demo-seed", type=int, default=21, help="the demo archive's seed")
    parser.add_argument("--corpus", action="store_true", help="also the real-data corpus")
    parser.add_argument("--seeds", type=int, default=3, help="files per trial (medians)")
    parser.add_argument("--trial", action="append", dest="trials", help="only this trial (repeatable)")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    work = Path(tempfile.mkdtemp(prefix="trialsynth-trajectories-"))
    print(f"{'trial':<26} {'rows':>6}" + "".join(f"{k:>11}" for k in COLUMNS))
    if args.demo:
        run(write_demo_archive(work / "demo", n_trials=args.demo, seed=args.demo_seed), "demo", args.seeds,
            args.trials)  # fmt: skip
    if args.corpus:
        from real_archive import write_corpus

        run(write_corpus(work / "corpus", 200, ids=args.trials), "corpus", args.seeds, args.trials)


if __name__ == "__main__":
    main()
