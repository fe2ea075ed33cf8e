"""New schools for a differentially private file, formed from the rows the model drew.

A marginal model (MST, AIM) cannot learn which pupils share a school: at epsilon 1 a school of 60
pupils is far below the noise of its one-way count, so its code is merged with the others and a
drawn pupil's school is a random one - every school a mixture of the arms and of the school-level
covariates, no school-level variance. Here the drawn rows are grouped into the trial's number of
schools (public: the domain's levels) by what the design makes a school property:

- the arm, when the trial was randomised by school (``randomised: school``, a fact of the
  protocol the manifest declares): each school takes pupils of one arm, the arms' schools in
  proportion to their drawn pupils;
- the declared school-level covariates: the rows are partitioned along each covariate in turn
  (a k-d partition: about K^(1/d) slices per covariate, d covariates), so the pupils of one school
  have near-equal drawn values; each school then takes one of its pupils' values (the median row's
  value; a category's most common) - the same value for the whole school, as in the real file.

School sizes are the counts of a uniform multinomial within each slice (the real sizes are
not read: they would need budget). The pupils' other values
are the model's, untouched: whatever the model learnt of the covariates' relation to the outcomes
becomes between-school variance. Everything here reads only the drawn file and public facts
(post-processing: no budget).
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def form_schools(
    frame: pd.DataFrame,
    n_schools: int,
    *,
    covariates: tuple[str, ...],
    arm: str | None,
    rng: np.random.Generator,
) -> np.ndarray:
    """A school index (0..n_schools-1) for every row of ``frame``; ``arm``: the treatment column
    when schools were randomised (each school one arm), else None."""
    n = len(frame)
    if n_schools < 1:
        raise ValueError(f"The 'n_schools' parameter must be >= 1. Got {n_schools!r}.")
    if arm is not None:
        codes, _ = pd.factorize(frame[arm].astype(object).where(frame[arm].notna(), None))
        groups = [np.flatnonzero(codes == code) for code in np.unique(codes)]
    else:
        groups = [np.arange(n)]
    shares = _largest_remainder(np.array([g.size for g in groups], dtype=float), min(n_schools, n))
    keys = [_key(frame[c]) for c in covariates if c in frame.columns]
    labels = np.empty(n, dtype=np.int64)
    first = 0
    for rows, share in zip(groups, np.maximum(shares, 1), strict=True):
        labels[rows] = first + _partition(rows.size, [key[rows] for key in keys], int(share), rng)
        first += int(share)
    return labels % n_schools  # more arms than schools: an arm's school shared with another's


def constant_within(frame: pd.DataFrame, schools: np.ndarray, columns: tuple[str, ...]) -> pd.DataFrame:
    """Each school-level column set to one of its pupils' values for the whole school: the median
    row's value for a number, the most common value otherwise (missing where all are)."""
    out = frame.copy()
    for name in columns:
        if name not in out.columns:
            continue
        column = out[name]
        if pd.api.types.is_numeric_dtype(column):
            values = column.to_numpy(dtype=float, na_value=np.nan)
            present = np.flatnonzero(~np.isnan(values))
            order = present[np.lexsort((values[present], schools[present]))]
            ordered = schools[order]
            starts = np.r_[0, np.flatnonzero(np.diff(ordered)) + 1]
            counts = np.diff(np.r_[starts, order.size])
            chosen = pd.Series(values[order[starts + (counts - 1) // 2]], index=ordered[starts])
        else:
            chosen = column.groupby(schools).agg(lambda s: s.mode().iloc[0] if s.notna().any() else None)
        new = pd.Series(schools, index=out.index).map(chosen)
        out[name] = new.astype(column.dtype)
    return out


def _key(column: pd.Series) -> np.ndarray:
    """A sortable value per row: a number as itself (missing last), a category by its label."""
    if pd.api.types.is_numeric_dtype(column):
        return column.astype("float64").fillna(np.inf).to_numpy()
    codes, _ = pd.factorize(column.astype(object).where(column.notna(), None), sort=True)
    return np.where(codes < 0, np.inf, codes).astype(float)


def _partition(n: int, keys: list[np.ndarray], k: int, rng: np.random.Generator) -> np.ndarray:
    """A school (0..k-1) for each of n rows: slices along the first key (ties at random), each
    partitioned by the rest; along the last key, consecutive runs of the schools' sizes (a
    uniform multinomial: no school size is read from the data)."""
    out = np.empty(n, dtype=np.int64)
    ranked = np.lexsort((rng.random(n), keys[0])) if keys else rng.permutation(n)
    if len(keys) <= 1 or k == 1:
        sizes = rng.multinomial(n, np.full(k, 1 / k))
        out[ranked] = np.repeat(np.arange(k), sizes)
        return out
    slices = max(1, min(k, round(k ** (1 / len(keys)))))
    shares = _largest_remainder(np.ones(slices), k)
    counts = _largest_remainder(shares.astype(float), n)  # rows in proportion to the slice's schools
    first = 0
    for chunk, share in zip(np.split(ranked, np.cumsum(counts)[:-1]), shares, strict=True):
        if chunk.size:
            out[chunk] = first + _partition(chunk.size, [key[chunk] for key in keys[1:]], int(share), rng)
        first += int(share)
    return out


def _largest_remainder(weights: np.ndarray, total: int) -> np.ndarray:
    """Integers summing to ``total`` in proportion to ``weights`` (largest remainders)."""
    exact = weights / weights.sum() * total
    out = np.floor(exact).astype(np.int64)
    out[np.argsort(-(exact - out), kind="stable")[: total - int(out.sum())]] += 1
    return out
