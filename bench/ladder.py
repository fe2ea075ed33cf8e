"""A ladder of known synthesisers: every metric and the category must order them.

    python bench/ladder.py [--rows 9900] [--cols 22] [--seed 1]

The real trial is one half of a generated demo trial, of which a holdout share (default 0.2, as
in a run) is kept from every synthesiser and is where utility is tested; the rungs are files whose
quality is known: ``split-half`` (the other half of the same real data: the ceiling any
synthesiser can reach), ``cart`` and ``mst`` (epsilon 1) fitted on the real half's training rows,
then known-bad files -
``treatment-permuted`` (the CART file with its arm column shuffled: effect erased),
``outcome-destroyed`` (the CART file with the primary outcome set to its mean),
``independent`` (every real column shuffled on its own: marginals kept, relationships gone),
``uniform-noise`` (continuous columns uniform over their range, categories shuffled) - and
``exact-copy`` (the real half itself, held-out rows included), which must top fidelity and be
caught by the privacy measures. Prints one row per rung: category and the
metrics that decide it.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from trialsynth.data.cleaning import clean  # noqa: E402
from trialsynth.data.surrogate import TrialShape, demo_roles, make_trial, public_bounds  # noqa: E402
from trialsynth.defaults import HOLDOUT_SHARE  # noqa: E402
from trialsynth.dp.domain import draft_domain  # noqa: E402
from trialsynth.dp.noise import PublicNoise  # noqa: E402
from trialsynth.evaluation.categories import categorise, not_applicable, valid_problems  # noqa: E402
from trialsynth.evaluation.holdout import holdout_mask  # noqa: E402
from trialsynth.evaluation.metrics.evaluate import evaluate, format_preserved  # noqa: E402
from trialsynth.evaluation.metrics.trial_analysis import trial_analysis  # noqa: E402
from trialsynth.plan import Roles  # noqa: E402
from trialsynth.synthesisers.cart import CartSynthesiser  # noqa: E402
from trialsynth.synthesisers.mst import MstSynthesiser  # noqa: E402

SHOWN = (
    "feature_density_mad",
    "corr_msd",
    "pmse_ratio",
    "pmse_standardised",
    "f1_diff",
    "f1_diff_study",
    "effect_ci_overlap",
    "effect_sign_agreement",
    "icc_synthetic",
    "min_nn_distance",
    "min_nn_distance_outliers",
    "sample_overlap",
)


def rungs(
    real: pd.DataFrame, held: np.ndarray, other: pd.DataFrame, meta, seed: int
) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    train = real.loc[~held].reset_index(drop=True)  # what every synthesiser is fitted on
    cart = CartSynthesiser(random_state=seed).fit(train, meta).sample(len(real), np.random.default_rng(seed))
    domain = draft_domain(real, meta.kinds, public_bounds(real.columns))  # generated data: public
    mst = MstSynthesiser(epsilon=1.0, iterations=1000).fit(
        train, dataclasses.replace(meta, domain=domain), noise=PublicNoise(np.random.default_rng(seed))
    )
    permuted = cart.copy()
    permuted[meta.treatment] = rng.permutation(permuted[meta.treatment].to_numpy())
    destroyed = cart.copy()
    destroyed[meta.primary_outcome] = float(real[meta.primary_outcome].mean())
    independent = real.apply(lambda c: pd.Series(rng.permutation(c.to_numpy()), index=c.index, dtype=c.dtype))
    noise = real.copy()
    for name in real.columns:
        values = real[name]
        if meta.kinds.get(name) == "continuous":
            low, high = values.min(), values.max()
            noise[name] = np.where(values.isna(), np.nan, rng.uniform(low, high, len(values)))
        else:
            noise[name] = rng.permutation(values.to_numpy())
    return {
        "split-half": other.iloc[: len(real)].reset_index(drop=True),
        "cart": cart,
        "mst (eps 1)": mst.sample(len(real), np.random.default_rng(seed)),
        "treatment-permuted": permuted,
        "outcome-destroyed": destroyed,
        "independent": independent,
        "uniform-noise": noise,
        "exact-copy": real.copy(),
    }


def halves(rows: int, cols: int, seed: int, holdout_share: float = HOLDOUT_SHARE):
    """A cleaned demo trial split at random in two halves - the real trial and other pupils of
    the same population - with the real half's holdout mask, and the trial's meta."""
    frame = make_trial(TrialShape(rows, cols), seed)
    data, meta = clean(frame, Roles.of(**demo_roles(frame)), trial_id="ladder")
    order = np.random.default_rng(seed).permutation(len(data))
    real = data.iloc[np.sort(order[: len(data) // 2])].reset_index(drop=True)
    other = data.iloc[np.sort(order[len(data) // 2 :])].reset_index(drop=True)
    held = holdout_mask(len(real), holdout_share, np.random.default_rng(seed + 1))
    return real, other, held, meta


def ladder(
    rows: int, cols: int, seed: int, holdout_share: float = HOLDOUT_SHARE
) -> list[tuple[str, str, dict, float]]:
    real, other, held, meta = halves(rows, cols, seed, holdout_share)
    out = []
    for name, synthetic in rungs(real, held, other, meta, seed).items():
        start = time.perf_counter()
        metrics = evaluate(real, synthetic, meta, seed, held)
        effects, _ = trial_analysis(real, synthetic, meta)
        metrics.update(effects)
        seconds = time.perf_counter() - start
        labels = (meta.cluster,) if meta.cluster else ()
        preserved = format_preserved(real, synthetic, labels=labels)
        valid = not valid_problems(real, synthetic, labels=labels)
        skip = not_applicable(meta, real)
        category = categorise(metrics, format_preserved=preserved, valid=valid, not_applicable=skip)
        out.append((name, category, metrics, seconds))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=9900)
    parser.add_argument("--cols", type=int, default=22)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    results = ladder(args.rows, args.cols, args.seed)
    print(f"{'rung':<20}{'category':<24}" + "".join(f"{k[:13]:>14}" for k in SHOWN) + f"{'eval s':>8}")
    for name, category, metrics, seconds in results:
        cells = "".join(
            f"{metrics.get(k):>14.4g}" if metrics.get(k) is not None else f"{'-':>14}" for k in SHOWN
        )
        print(f"{name:<20}{category:<24}{cells}{seconds:>8.1f}")


if __name__ == "__main__":
    main()
