"""Attacks on a released file, measured against real rows the synthesiser never saw.

The three attacks of Giomi et al. (2022, "A Unified Framework for Quantifying Privacy Risk in
Synthetic Data", the method of the ``anonymeter`` package), written here on numpy and
scikit-learn, and the distance-to-closest-record share:

- **singling out**: an intruder writes predicates from the synthetic file alone ("the pupil
  with ks2_maths = 31.5 and fsm = 1 and ...") that pick out exactly one synthetic row, and wins
  when the predicate picks out exactly one real pupil;
- **linkability**: an intruder holds two halves of a pupil's record (two column sets, as two
  administrative sources would) and links them through the synthetic row nearest to each half;
  a win is the same synthetic row on both sides;
- **attribute inference**: an intruder knows every column of a pupil but a secret one (the
  outcomes, the trial's sensitive attribute) and guesses it from the nearest synthetic row.

Each attack runs on training rows (the synthesiser saw them) and on control rows (the holdout:
it never saw them), as many of each. What the file teaches about the general population wins on
both; what it leaks about the training pupils wins only on the training rows. The risk is the
excess, normalised (Giomi et al., eq. 1):

    risk = (rate_training - rate_control) / (1 - rate_control)

with each rate's Wilson score interval at 95% and the risk's interval from the two intervals'
opposite ends (the widest interval they allow). 0 means the file gives an intruder nothing on
the training pupils that it does not give on anyone; 1 means every attack on a training pupil
succeeds. Singling out is scored within the real rows (see ``singling_out``). ``dcr_share`` is
the share of synthetic rows closer to a training row than to a held-out row, read against the
share real pupils neither set holds score (``dcr``): 0.5 for a file that is no closer to the rows
it learnt from (MOSTLY AI's criterion), 1 for a copy; in a long-format file whose method drew
pupils, the larger of that and the same share between pupils (each pupil's rows summed up as
one point: ``dcr.pupil_profiles``), the rows' read only where they can tell (``dcr.Reading``).

Distances: each numeric column (missingness indicators included) over its real range, each
categorical column one-hot times 1/2, summed (Manhattan): a category mismatch counts 1, as two
values at opposite ends of a column's range do (Gower's distance without its division by the
number of columns). Every nearest-neighbour search is exact (brute force).
"""

from __future__ import annotations

from typing import TypeGuard

import numpy as np
import pandas as pd

from trialsynth.evaluation.metrics.dcr import dcr_share, pupil_profiles, reading
from trialsynth.evaluation.metrics.prepare import EvaluationContext
from trialsynth.evaluation.metrics.privacy import default_tcap
from trialsynth.evaluation.metrics.rates import Rate, risk, risk_against
from trialsynth.evaluation.metrics.singling_out import singling_out
from trialsynth.evaluation.metrics.sweep import Found, Parts, nearest_on_parts

ATTACK_KEYS = ("singling_out_risk", "linkability_risk", "inference_risk", "dcr_share")
DCR_KEYS = ("dcr_share", "dcr_share_low", "dcr_share_high")  # the ``dcr`` family's
# With every risk: the bounds of its 95% interval (``<key>_low``/``<key>_high``).
ATTACK_CI_KEYS = tuple(f"{key}_{end}" for key in ATTACK_KEYS for end in ("low", "high"))
ATTACK_TARGETS = 1000  # training and control rows attacked (each side); fewer when the holdout is smaller
MIN_CONTROL_ROWS = 50  # fewer held-out rows: no attack is measured (the control rate means nothing)
# The singling-out estimate rests on the predicates that single out a real pupil, which can be a
# handful (a coded file: insteval-large gave 1 of 1,000, read as risk 1 with interval [-1, 1]);
# its point value adds this many pseudo-predicates at the control rate.
SINGLING_OUT_PRIOR = 20
INFERENCE_SECRETS = 4  # secret columns attacked: the outcomes, then the TCAP target
NUMERIC_TOLERANCE = 0.05  # a numeric secret is guessed when within 5% of its true value


def attacks(real: pd.DataFrame, synth: pd.DataFrame, ctx: EvaluationContext) -> dict[str, float]:
    """Every attack's risk with its interval (``dcr_share``: ``dcr``); NaN when the trial has
    fewer than ``MIN_CONTROL_ROWS`` held-out rows to control with."""
    holdout = ctx.holdout
    empty = {k: float("nan") for k in (*ATTACK_KEYS, *ATTACK_CI_KEYS) if k not in DCR_KEYS}
    if not _controlled(holdout):
        return empty
    rng = np.random.default_rng(ctx.seed)
    space = Space(real, ctx)
    training, control = real.loc[~holdout], real.loc[holdout]
    targets = min(ATTACK_TARGETS, len(control))
    train_targets = training.iloc[rng.choice(len(training), targets, replace=False)]
    control_targets = control.iloc[rng.choice(len(control), targets, replace=False)]
    results = dict(empty)
    so_rate, so_expected = singling_out(training, control, synth, ctx, rng)
    point, low, high = risk_against(so_rate, so_expected, prior=SINGLING_OUT_PRIOR)
    results.update({"singling_out_risk": point, "singling_out_risk_low": low, "singling_out_risk_high": high})
    both = pd.concat([train_targets, control_targets])
    found = nearest_on_parts(_parts(both, synth, space, _halves(list(synth.columns), rng), ctx))
    for key, (train_rate, control_rate) in (
        ("linkability_risk", linkability(found, len(train_targets))),
        ("inference_risk", inference(found, both, synth, space, len(train_targets))),
    ):
        point, low, high = risk(train_rate, control_rate)
        results.update({key: point, f"{key}_low": low, f"{key}_high": high})
    return results


def dcr(real: pd.DataFrame, synth: pd.DataFrame, ctx: EvaluationContext) -> dict[str, float]:
    """``dcr_share`` with its interval (a family of its own: the evaluation runs it beside the
    other attacks, each on its own thread); NaN when the trial has fewer than
    ``MIN_CONTROL_ROWS`` held-out rows."""
    holdout = ctx.holdout
    if not _controlled(holdout):
        return dict.fromkeys(DCR_KEYS, float("nan"))
    space = Space(real, ctx)
    training, control = space.embed(real.loc[~holdout]), space.embed(real.loc[holdout])
    rng = np.random.default_rng([ctx.seed, 1])  # its own stream
    found = _dcr(training, control, space.embed(synth), ctx, rng)
    return dict(zip(DCR_KEYS, found, strict=True))


def _controlled(holdout: np.ndarray | None) -> TypeGuard[np.ndarray]:
    """Enough held-out and training rows (``MIN_CONTROL_ROWS`` each) for an attack to mean anything."""
    return holdout is not None and holdout.sum() >= MIN_CONTROL_ROWS and (~holdout).sum() >= MIN_CONTROL_ROWS


def _dcr(
    trained: np.ndarray, held: np.ndarray, drawn: np.ndarray, ctx: EvaluationContext, rng: np.random.Generator
) -> tuple[float, float, float]:
    """``dcr_share`` between rows (a long file: a pupil's rows apart in the null) and, in a long
    file whose method drew pupils, between pupils too (``dcr.pupil_profiles``): the larger of
    the two, the rows' read only where they can tell (``dcr.Reading.informative``)."""
    if ctx.units is None or ctx.holdout is None:
        return dcr_share(trained, held, drawn, rng)
    units = (ctx.units[~ctx.holdout], ctx.units[ctx.holdout])
    rows = reading(trained, held, drawn, rng, units)
    if ctx.synth_units is None:
        return rows.share, rows.low, rows.high
    most = int(pd.Series(ctx.units).value_counts().max())
    pupils = reading(
        pupil_profiles(trained, units[0], most),
        pupil_profiles(held, units[1], most),
        pupil_profiles(drawn, ctx.synth_units, most),
        rng,
    )
    read = max([pupils, *([rows] if rows.informative else [])], key=lambda r: r.share)
    return read.share, read.low, read.high


class Space:
    """The attacks' distance space (see the module), fixed from the real data."""

    def __init__(self, real: pd.DataFrame, ctx: EvaluationContext) -> None:
        numeric = list(ctx.numeric)
        self.numeric = numeric
        self.low = real[numeric].min()
        self.span = (real[numeric].max() - self.low).replace(0, 1.0)
        self.levels = {name: pd.Index(real[name].astype(str).unique()) for name in ctx.categorical}

    def embed(self, frame: pd.DataFrame, columns: list[str] | None = None) -> np.ndarray:
        """Rows of ``frame`` as points, on ``columns`` (every column when None); a category the
        real data does not hold is at distance 1 from every real category."""
        columns = list(frame.columns) if columns is None else columns
        parts = []
        for name in columns:
            if name in self.levels:
                codes = self.levels[name].get_indexer(frame[name].astype(str))
                onehot = np.zeros((len(frame), len(self.levels[name]) + 1))
                onehot[np.arange(len(frame)), np.where(codes < 0, len(self.levels[name]), codes)] = 0.5
                parts.append(onehot)
            else:
                scaled = (frame[name].to_numpy(dtype=float) - self.low[name]) / self.span[name]
                parts.append(scaled[:, None])
        return np.hstack(parts) if parts else np.zeros((len(frame), 0))


def _halves(columns: list[str], rng: np.random.Generator) -> tuple[list[str], list[str]]:
    """The columns split in two at random (seeded): the two sources an intruder would link."""
    order = rng.permutation(len(columns))
    half = len(columns) // 2
    return [columns[i] for i in order[:half]], [columns[i] for i in order[half:]]


def _parts(
    targets: pd.DataFrame,
    synth: pd.DataFrame,
    space: Space,
    halves: tuple[list[str], list[str]],
    ctx: EvaluationContext,
) -> Parts:
    """The points ``sweep.nearest_on_parts`` reads: both halves, and each secret's own columns
    (the secret and its missingness indicator)."""
    columns = list(synth.columns)
    own = {
        secret: [c for c in columns if c == secret or c.startswith(f"{secret}__")]
        for secret in secrets(ctx, columns)
    }
    return Parts(
        targets=(space.embed(targets, halves[0]), space.embed(targets, halves[1])),
        synth=(space.embed(synth, halves[0]), space.embed(synth, halves[1])),
        secrets={s: (space.embed(targets, cols), space.embed(synth, cols)) for s, cols in own.items()},
    )


def linkability(found: Found, n_training: int) -> tuple[Rate, Rate]:
    """A target (the first ``n_training`` training pupils, then the control pupils) is linked
    when its two halves have the same nearest synthetic row."""
    linked = found.left == found.right
    return (
        Rate(int(linked[:n_training].sum()), n_training),
        Rate(int(linked[n_training:].sum()), len(linked) - n_training),
    )


def secrets(ctx: EvaluationContext, columns: list[str]) -> list[str]:
    """The columns an intruder would infer: the trial's outcomes, then the TCAP target."""
    meta = ctx.meta
    _, target = default_tcap(ctx)
    wanted = [*meta.outcomes, target]
    return [c for c in dict.fromkeys(wanted) if c in columns][:INFERENCE_SECRETS]


def inference(
    found: Found, targets: pd.DataFrame, synth: pd.DataFrame, space: Space, n_training: int
) -> tuple[Rate, Rate]:
    """For each secret column: the nearest synthetic row on every other column gives the guess
    (a numeric secret is guessed within ``NUMERIC_TOLERANCE`` of its value); the rates of the
    secret whose risk is highest (``targets``: the training pupils, then the control pupils)."""
    best: tuple[float, Rate, Rate] | None = None
    for secret, index in found.without.items():
        guess, truth = synth[secret].to_numpy()[index], targets[secret].to_numpy()
        hit = _guessed(guess, truth, secret in space.levels)
        rates = (
            Rate(int(hit[:n_training].sum()), n_training),
            Rate(int(hit[n_training:].sum()), len(hit) - n_training),
        )
        value = risk(rates[0], rates[1])[0]
        if best is None or value > best[0]:
            best = (value, rates[0], rates[1])
    if best is None:
        return Rate(0, 0), Rate(0, 0)
    return best[1], best[2]


def _guessed(guess: np.ndarray, truth: np.ndarray, categorical: bool) -> np.ndarray:
    if categorical:
        return guess.astype(str) == truth.astype(str)
    guess, truth = guess.astype(float), truth.astype(float)
    return np.abs(guess - truth) <= NUMERIC_TOLERANCE * np.abs(truth) + 1e-12
