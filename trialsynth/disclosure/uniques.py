"""The release gate: no released file may reproduce a real record that is unique in the real data.

A synthetic row equal, on every synthesised column (the school label aside: it is new by design),
to a real record that is unique in the real data - on the manifest's ``keys``, else on every
compared column - discloses that person (synthpop's *replicated uniques*). Such rows are re-drawn
from the fitted model, every round recorded, and a file that still holds one is blocked. A
combination many real pupils share discloses no one and never blocks; the count of synthetic rows
equal to any real record is kept as the metric ``exact_matches``. Rows are never dropped.

In a long-format file whose pupils the method drew whole (``models_units``), the pupil is a
record too: a synthetic pupil whose rows are those of a real pupil no other real pupil shares is
re-drawn row by row in its places, and a file that still holds one is blocked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from trialsynth.data.cleaning import Cleaned
from trialsynth.disclosure.schools import SchoolControl
from trialsynth.errors import ReleaseBlockedError
from trialsynth.evaluation.metrics.privacy import matches, replicated_pupils
from trialsynth.meta import TrialMeta
from trialsynth.synthesisers.base import (
    DifferentiallyPrivate,
    ModelsSchools,
    ModelsUnits,
    Redraws,
    Synthesiser,
    models_schools,
    models_units,
)

GATE_RULE = "replicated-uniques-v1"
# rounds of re-drawing flagged rows before the gate blocks the file: on a narrow file (a few codes
# and one score) a re-drawn row lands on another unique record by chance about 3 times in 10, so
# 1,200 flagged rows need 6-8 rounds and one file in six still held a row after 8
REDRAW_ROUNDS = 12
REDRAW_LIMIT = 20  # at most this many times the file's rows drawn in all the rounds together
RESAMPLE_SHARE = 0.05  # more flagged rows than this share: the whole file is re-drawn (``redraw``)


@dataclass(frozen=True)
class Gate:
    """The release gate: a synthetic row equal (on the synthesised columns) to a real record that
    is unique in the real data on the key variables discloses that person; such rows are re-drawn
    from the fitted model, every round recorded, and the file is blocked if any remain.

    ``exact_matches`` counts synthetic rows equal to any real record before re-drawing (kept as a
    metric: a combination many real pupils share discloses no one)."""

    keys: tuple[str, ...]
    key_basis: str
    compared: tuple[str, ...]
    real_uniques: int
    exact_matches: int
    replicated_initial: int
    redrawn: tuple[int, ...] = ()
    replicated_uniques: int = 0
    resampled: bool = False  # the whole file re-drawn (smoothed) before the row re-draws
    enforced: bool = True  # False for a differentially private method: measured, not enforced
    pupils: tuple[int, int] | None = None  # long format: pupils reproduced whole, first and left

    @property
    def rounds(self) -> str:
        whole = "the whole file re-drawn, then " if self.resampled else ""
        return f"{whole}{_rounds(len(self.redrawn))} of re-drawing"

    @property
    def released(self) -> bool:
        left = self.pupils[1] if self.pupils else 0
        return (self.replicated_uniques == 0 and left == 0) or not self.enforced

    @property
    def _pupils_said(self) -> str:
        if self.pupils is None:
            return ""
        first, left = self.pupils
        if not first:
            return "; no synthetic pupil reproduces a real pupil's rows unique among pupils"
        return (
            f"; {first} synthetic pupils reproduced a real pupil's rows unique among pupils, "
            f"{left} after re-drawing their rows"
        )

    @property
    def reason(self) -> str:
        if not self.enforced:
            return (
                f"released: {self.replicated_uniques} synthetic rows equal a real record unique on "
                f"{self.key_basis}, measured and not enforced: the method is differentially private, "
                "and its guarantee covers every row; re-drawing or blocking on the real data would void it"
            )
        if not self.released:
            return (
                f"blocked: {self.replicated_uniques} synthetic rows reproduce a real record unique on "
                f"{self.key_basis} after {self.rounds}{self._pupils_said}"
            )
        if self.redrawn or self.resampled:
            return (
                f"released: {self.replicated_initial} synthetic rows reproduced a real record unique on "
                f"{self.key_basis}; re-drawn from the model ({self.rounds}: "
                f"{', '.join(map(str, self.redrawn)) or 0} rows), none remain{self._pupils_said}"
            )
        return (
            f"released: no synthetic row reproduces a real record unique on {self.key_basis}"
            f"{self._pupils_said}"
        )

    def metrics(self) -> dict[str, float | None]:
        return {"replicated_uniques": self.replicated_uniques, "exact_matches": self.exact_matches}

    def record(self) -> dict[str, Any]:
        return {
            "gate": self.reason,
            "disclosure": {
                "rule": GATE_RULE,
                "keys": list(self.keys),
                "key_basis": self.key_basis,
                "compared_columns": len(self.compared),
                "real_uniques": self.real_uniques,
                "exact_matches": self.exact_matches,
                "replicated_uniques_initial": self.replicated_initial,
                "whole_file_redrawn": self.resampled,
                "redrawn_per_round": list(self.redrawn),
                "replicated_uniques": self.replicated_uniques,
                "enforced": self.enforced,
                **(
                    {"pupils_replicated_initial": self.pupils[0], "pupils_replicated": self.pupils[1]}
                    if self.pupils is not None
                    else {}
                ),
            },
        }

    def enforce(self) -> None:
        if not self.released:
            raise ReleaseBlockedError(f"release {self.reason}")


def check_release(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    meta: TrialMeta,
    method: Synthesiser,
    rng: np.random.Generator,
    units: np.ndarray | None = None,
) -> tuple[Gate, pd.DataFrame]:
    """Find synthetic rows that replicate a real unique record, re-draw them from the fitted
    ``method`` (from ``rng``) and check again; the file is blocked if any remain. Returns the
    decision and the file as it would be released (``synthetic`` itself when nothing changed).

    Compared columns: every synthesised column except the school label (new by construction:
    comparing it would let every copied pupil record pass); keys: the manifest's ``keys``, else
    every compared column. Where the school-level control replaced school-level values by their
    group's (``trialsynth.disclosure.schools``), ``real`` carries the group values too, so a pupil
    copied with them is found.
    Values are compared in one canonical form per column (5, 5.0 and "5" alike, numbers at the
    released precision).
    Re-drawing: ``_redraw_replicated``, then (``units``: a long file's pupils) ``_redraw_pupils``.

    A differentially private method's file is measured and released as drawn (``enforced`` is
    False): its (epsilon, delta) guarantee already bounds what any synthetic row - one equal to a
    unique real record included - says about any person, while re-drawing rows chosen by the real
    data, or blocking on them, is not post-processing and would void that guarantee (a person's
    presence would change which files can be released)."""
    first = synthetic
    compared = [c for c in real.columns if c != meta.cluster]
    keys = [k for k in meta.keys if k in compared]
    basis = f"the key variables {keys}" if keys else "every synthesised column"
    synthetic = synthetic.reset_index(drop=True)
    found = matches(real, synthetic, compared, keys)
    initial, exact = int(found.replicated.sum()), int(found.exact.sum())
    may_redraw = not isinstance(method, DifferentiallyPrivate)
    redrawn: list[int] = []
    resampled = False
    if may_redraw:
        flagged = np.flatnonzero(found.replicated)
        synthetic, redrawn, resampled = _redraw_replicated(
            real, synthetic, meta, method, rng, (compared, keys), flagged
        )
    synthetic, pupils, again = _redraw_pupils(
        real, synthetic, method, rng, (compared, keys), units, may_redraw
    )
    changed = bool(redrawn) or resampled or bool(again)
    remaining = int(matches(real, synthetic, compared, keys).replicated.sum()) if changed else initial
    result = Gate(
        keys=tuple(keys),
        key_basis=basis,
        compared=tuple(compared),
        real_uniques=found.real_uniques,
        exact_matches=exact,
        replicated_initial=initial,
        redrawn=tuple(redrawn),
        replicated_uniques=remaining,
        resampled=resampled,
        enforced=may_redraw,
        pupils=pupils,
    )
    return result, synthetic if changed else first


def _redraw_pupils(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    method: Synthesiser,
    rng: np.random.Generator,
    on: tuple[list[str], list[str]],
    units: np.ndarray | None,
    may_redraw: bool,
) -> tuple[pd.DataFrame, tuple[int, int] | None, list[int]]:
    """The synthetic pupils whose rows are a real pupil's unique among pupils, their rows re-drawn
    in their places (``redraw_within``) in rounds - with any row that replicates a unique real
    record, so a re-drawn pupil brings no row back; returns the file, the pupils found first and
    left (None: not a long file whose pupils the method drew), and the rows re-drawn per round.
    ``on``: the compared columns and the key variables."""
    compared, keys = on
    drawn = method.drawn_units() if units is not None and models_units(method) else None
    if drawn is None or units is None:
        return synthetic, None, []
    assert isinstance(method, ModelsUnits)
    pair = (units, drawn)
    flagged = replicated_pupils(real, synthetic, compared, pair)
    first = len(set(drawn[flagged]))
    redrawn: list[int] = []
    while may_redraw and flagged.any() and len(redrawn) < REDRAW_ROUNDS:
        rows = np.flatnonzero(flagged)
        fresh = method.redraw_within(synthetic.iloc[rows], rng).reset_index(drop=True)[synthetic.columns]
        synthetic = _replace_rows(synthetic, rows, fresh)
        redrawn.append(len(rows))
        flagged = (
            replicated_pupils(real, synthetic, compared, pair)
            | matches(real, synthetic, compared, keys).replicated
        )
    left = replicated_pupils(real, synthetic, compared, pair)
    return synthetic, (first, len(set(drawn[left]))), redrawn


def _redraw_replicated(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    meta: TrialMeta,
    method: Synthesiser,
    rng: np.random.Generator,
    on: tuple[list[str], list[str]],
    flagged: np.ndarray,
) -> tuple[pd.DataFrame, list[int], bool]:
    """The ``flagged`` rows re-drawn in rounds; returns the file, the rows re-drawn per round and
    whether the whole file was re-drawn. ``on``: the compared columns and the key variables.

    Re-drawing: ``redraw`` where the method has it (CART: smoothed donors), else ``sample`` (a
    re-drawn row keeps the school label of the row it replaces: labels are per draw). When more
    than ``RESAMPLE_SHARE`` of the rows are flagged, a method with ``redraw`` re-draws the whole
    file first (``bench/gate_remedies.py``: re-drawing 1.5% of a file row by row costs nothing
    measurable, re-drawing 8% or a third of it removes every row near a unique record and
    distorts it - pMSE ratio 3.2 -> 8.7 on Project STAR long - where a whole smoothed draw does
    not)."""
    compared, keys = on
    n = len(synthetic)
    drawn, resampled = 0, False
    redrawn: list[int] = []
    if isinstance(method, Redraws) and len(flagged) > RESAMPLE_SHARE * n:
        synthetic, drawn, resampled = method.redraw(n, rng).reset_index(drop=True)[synthetic.columns], n, True
        flagged = np.flatnonzero(matches(real, synthetic, compared, keys).replicated)
    if models_schools(method):
        synthetic, within = _redraw_within_schools(real, synthetic, method, rng, on, flagged)
        return synthetic, within, resampled
    draw = method.redraw if isinstance(method, Redraws) else method.sample
    while len(flagged) and len(redrawn) < REDRAW_ROUNDS and drawn < REDRAW_LIMIT * n:
        share_bad = max(len(flagged) / n, 0.05)
        want = min(int(np.ceil(len(flagged) / max(1 - share_bad, 0.05) * 1.5)) + 10, REDRAW_LIMIT * n - drawn)
        fresh = draw(want, rng).reset_index(drop=True)[synthetic.columns]
        drawn += want
        good = fresh.loc[~matches(real, fresh, compared, keys).replicated]
        take = min(len(good), len(flagged))
        replace, flagged = flagged[:take], flagged[take:]
        rows = good.iloc[:take].copy()
        if meta.cluster and not isinstance(method, Redraws):
            rows[meta.cluster] = synthetic[meta.cluster].to_numpy()[replace]
        synthetic = _replace_rows(synthetic, replace, rows)
        redrawn.append(take)
    return synthetic, redrawn, resampled


def _redraw_within_schools(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    method: Synthesiser,
    rng: np.random.Generator,
    on: tuple[list[str], list[str]],
    flagged: np.ndarray,
) -> tuple[pd.DataFrame, list[int]]:
    """The ``flagged`` rows of a method that synthesises schools re-drawn in rounds, each as a new
    pupil of its own row's school (and arm): the file's schools and arm sizes stay as drawn."""
    assert isinstance(method, ModelsSchools)
    compared, keys = on
    redrawn: list[int] = []
    while len(flagged) and len(redrawn) < REDRAW_ROUNDS:
        fresh = method.redraw_within(synthetic.iloc[flagged], rng).reset_index(drop=True)[synthetic.columns]
        good = ~matches(real, fresh, compared, keys).replicated
        synthetic = _replace_rows(synthetic, flagged[good], fresh.loc[good])
        redrawn.append(int(good.sum()))
        flagged = flagged[~good]
    return synthetic, redrawn


def _rounds(count: int) -> str:
    return f"{count} round" if count == 1 else f"{count} rounds"


def _replace_rows(frame: pd.DataFrame, positions: np.ndarray, rows: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with the rows at ``positions`` replaced by ``rows``, every other row in place,
    each column's dtype kept where the new values allow it."""
    fresh = rows.set_axis(positions)
    out = pd.concat([frame.drop(index=positions), fresh]).sort_index()
    for name, dtype in frame.dtypes.items():
        try:
            cast = out[name].astype(dtype)
        except (TypeError, ValueError):
            continue  # e.g. a re-drawn missing value in an integer column: the wider dtype stays
        same = (cast.astype("object") == out[name].astype("object")) | (cast.isna() & out[name].isna())
        if bool(same.all()):  # never a value changed by the cast (2.7 -> 2, a new category -> NaN)
            out[name] = cast
    return out


@dataclass(frozen=True)
class OutputsOnlyGate:
    """No microdata is held: no real record can be reproduced."""

    def record(self) -> dict[str, Any]:
        return {"gate": "released: no microdata is held, so no real record can be reproduced"}


def gate(
    cleaned: Cleaned,
    synthetic: pd.DataFrame,
    method: Synthesiser,
    rng: np.random.Generator,
    control: SchoolControl | None = None,
) -> tuple[Gate, pd.DataFrame]:
    """The release gate on a draw (``check_release``), re-draws from ``rng`` (the trial's
    ``redraw`` stream); the file as it will be released comes back with the decision. Real rows
    are compared as the fit saw them: school-level values as their group's under ``control``."""
    real = control.grouped(cleaned.data, cleaned.meta.cluster) if control is not None else cleaned.data
    return check_release(real, synthetic, cleaned.meta, method, rng, cleaned.units)
