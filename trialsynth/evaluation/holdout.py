"""The holdout: real rows a trial's synthesiser never sees.

Utility (``metrics.utility``) trains one model on real and one on synthetic rows and tests both
on real rows; tested on rows the synthesiser was fitted on, a synthesiser that memorises looks
as good as the real data. So a documented share of the cleaned rows (``holdout_share``, default
``defaults.HOLDOUT_SHARE``) is drawn at random from the trial's ``holdout`` stream and kept from
the fit: the released file is synthesised from the other rows (as many synthetic rows as the
trial has), and the held-out rows are where the models are tested.

What it costs: the synthesiser learns from 80% of the rows at the default share. For a
differentially private method nothing more is spent (one fit, on fewer rows; the guarantee is
the same for every real row, held out or not). Every other measure (fidelity, the trial's
analysis, the privacy measures and the release gate) still compares with every real row.

A method that synthesises from released outputs (``ea``) is fitted on all rows: it never sees a
row, only outputs cleared for release, and outputs cleared from fewer rows would be other
outputs than the trial's. Its holdout rows are recorded as seen through those aggregates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Holdout:
    """Real rows kept from the synthesiser: which rows, never the rows."""

    mask: np.ndarray = field(repr=False)  # bool per cleaned row
    share: float
    seen_by_synthesiser: bool  # a method fitted on every row (from outputs cleared for release)
    by_unit: bool = False  # a long-format file: whole pupils held out, every row of each

    @property
    def fitted_rows(self) -> int:
        """How many real rows the synthesiser is fitted on."""
        return len(self.mask) - (0 if self.seen_by_synthesiser else int(self.mask.sum()))

    def training(self, data: pd.DataFrame) -> pd.DataFrame:
        """The rows the synthesiser is fitted on."""
        if self.seen_by_synthesiser or not self.mask.any():
            return data
        return data.loc[~self.mask].reset_index(drop=True)

    def training_units(self, units: np.ndarray | None) -> np.ndarray | None:
        """The pupil id of each row the synthesiser is fitted on (``units``: every cleaned row's)."""
        if units is None or self.seen_by_synthesiser or not self.mask.any():
            return units
        return units[~self.mask]

    def record(self) -> dict[str, Any]:
        held = int(self.mask.sum())
        return {
            "lineage": {
                "holdout": {
                    "share": self.share,
                    "rows": held,
                    "fitted_rows": self.fitted_rows,
                    "seen_by_synthesiser": self.seen_by_synthesiser if held else None,
                    "unit": "pupil (every row of a held-out pupil)" if self.by_unit else "row",
                }
            }
        }


def hold_out(
    n_rows: int,
    share: float,
    rng: np.random.Generator,
    *,
    seen_by_synthesiser: bool,
    units: np.ndarray | None = None,
) -> Holdout:
    """The plan's ``share`` of ``n_rows`` real rows, drawn from ``rng`` (the trial's ``holdout``
    stream), kept from the fit - unless the method is fitted on every row (``seen_by_synthesiser``).
    With ``units`` (a long-format file's pupil id per row), the share of *pupils* is held out with
    every row of each: a pupil whose other rows were fitted is not unseen, and the attacks and
    ``dcr_share`` read the holdout as pupils the synthesiser never saw."""
    if units is None:
        return Holdout(holdout_mask(n_rows, share, rng), share, seen_by_synthesiser)
    ids, codes = np.unique(units.astype(str), return_inverse=True)
    held = holdout_mask(len(ids), share, rng)
    return Holdout(held[codes], share, seen_by_synthesiser, by_unit=True)


def holdout_mask(n_rows: int, share: float, rng: np.random.Generator) -> np.ndarray:
    """Which of ``n_rows`` rows are held out: ``round(share * n_rows)`` of them, uniformly at
    random, leaving at least 2 rows on each side (none when that is impossible or ``share`` is 0)."""
    if not 0 <= share < 1:
        raise ValueError(f"The holdout share must be in [0, 1). Got {share!r} instead.")
    held = int(round(share * n_rows))
    mask = np.zeros(n_rows, dtype=bool)
    if held < 2 or n_rows - held < 2:
        return mask
    mask[rng.choice(n_rows, held, replace=False)] = True
    return mask
