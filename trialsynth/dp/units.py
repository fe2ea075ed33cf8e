"""A long-format file's pupils as records of exactly ``rows`` rows each, for a differentially
private method whose guarantee is for one pupil (``dp.accounting``: group privacy).

Each pupil's rows are drawn from its own: ``rows`` of them at random where it has more, all of
them and as many again drawn at random (with replacement) where it has fewer. A pupil's records
depend on its rows alone, so replacing one pupil's rows changes exactly ``rows`` rows of the
bounded file, and the bounded file's row count (pupils x ``rows``) is public as the pupil count
is. The draws use a generator seeded from the operating system's secure source (never stored).
"""

from __future__ import annotations

import secrets

import numpy as np
import pandas as pd

from trialsynth.meta import TrialMeta


def secret_generator() -> np.random.Generator:
    """A generator seeded from the operating system's secure source, never stored: a private
    step's draws (which rows a pupil gives, which pupils are held out) that no record reproduces.
    Held out from a stored seed, a pupil's side would follow the order of the ids, and replacing
    one pupil would move others across."""
    return np.random.default_rng(secrets.randbits(128))


def bounded(data: pd.DataFrame, units: np.ndarray, rows: int) -> pd.DataFrame:
    """``data`` with each pupil's rows (``units``: each row's pupil) bounded to exactly ``rows``
    (see the module), pupils in the order they first appear."""
    if rows < 1:
        raise ValueError(f"The 'rows' parameter must be >= 1. Got {rows!r}.")
    if len(units) != len(data):
        raise ValueError(f"units marks {len(units)} rows; the data has {len(data)}")
    rng = secret_generator()
    codes = pd.factorize(pd.Series(np.asarray(units).astype(str)))[0]
    order = np.argsort(codes, kind="stable")
    starts = np.searchsorted(codes[order], np.arange(codes.max() + 1))
    counts = np.diff(np.append(starts, len(codes)))
    picks = []
    for start, count in zip(starts, counts, strict=True):
        own = order[start : start + count]
        if count >= rows:
            picks.append(rng.choice(own, rows, replace=False))
        else:
            picks.append(np.concatenate([own, rng.choice(own, rows - count, replace=True)]))
    return data.iloc[np.concatenate(picks)].reset_index(drop=True)


def as_pupils(synthetic: pd.DataFrame, meta: TrialMeta, rows: int) -> tuple[pd.DataFrame, np.ndarray]:
    """A private file's rows (drawn one by one) as pupils of ``rows`` rows each, post-processing:
    the rows ordered by arm and school and cut in turn, so a pupil's rows mostly share both;
    returns the ordered rows and each one's pupil."""
    by = [c for c in (meta.treatment, meta.cluster) if c and c in synthetic.columns]
    ordered = synthetic.sort_values(by, kind="stable") if by else synthetic
    return ordered.reset_index(drop=True), np.arange(len(ordered)) // rows
