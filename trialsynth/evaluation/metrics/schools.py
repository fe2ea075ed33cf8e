"""Can a synthetic school be traced to one real school?

A school-level column holds one value per school (the school's context: its FSM share, its
region, its arm in a cluster-randomised trial). A synthetic school whose school-level values
(the modal value of each in its rows) fit exactly one real school points at that school, and its
rows then describe that school's pupils. ``school_reidentification`` is the share of synthetic
schools that do, a value fitting when equal (a category or a code) or within ``WINDOW`` of the
column's real range (a measurement, as an intruder would allow for rounding);
``school_size_correlation`` is the correlation between those synthetic schools' sizes and the
sizes of the real schools they point at. Both None for a trial without schools or without
school-level columns (then no school can be told apart but by its size). Real pupils without a
school id are no school; synthetic rows without one are grouped by their school-level profile, as
an intruder would group them (a blank id hides nothing).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from trialsynth.evaluation.metrics.prepare import school_level_columns
from trialsynth.evaluation.metrics.singling_out import CODED_LEVELS, WINDOW
from trialsynth.meta import TrialMeta

SCHOOL_KEYS = ("school_reidentification", "school_size_correlation")
__all__ = ["SCHOOL_KEYS", "school_level_columns", "windows", "fitting", "profiles", "school_disclosure"]


def windows(real: pd.DataFrame, real_profile: pd.DataFrame, meta: TrialMeta) -> dict[str, float | None]:
    """Per school-level column, how far a value may be from a real school's and still fit it:
    ``WINDOW`` of the range of the real schools' values for a measurement, None (equality) for a
    category or a code."""
    out: dict[str, float | None] = {}
    for name in real_profile.columns:
        numeric = pd.api.types.is_numeric_dtype(real[name]) and meta.kinds.get(name) == "continuous"
        if numeric and real[name].nunique() > CODED_LEVELS:
            values = real_profile[name].to_numpy(dtype=float)
            out[name] = WINDOW * float(np.nanmax(values) - np.nanmin(values))
        else:
            out[name] = None
    return out


def fitting(
    real_profile: pd.DataFrame, synth_profile: pd.DataFrame, window: dict[str, float | None]
) -> np.ndarray:
    """Which real schools (columns) each synthetic profile (rows) fits, on every column."""
    fits = np.ones((len(synth_profile), len(real_profile)), dtype=bool)
    for name, width in window.items():
        r, s = real_profile[name], synth_profile[name]
        if width is not None:
            rv, sv = r.to_numpy(dtype=float), s.to_numpy(dtype=float)
            close = np.abs(sv[:, None] - rv[None, :]) <= width
            fits &= close | (np.isnan(sv)[:, None] & np.isnan(rv)[None, :])
        else:
            fits &= s.astype(str).to_numpy()[:, None] == r.astype(str).to_numpy()[None, :]
    return fits


def profiles(frame: pd.DataFrame, cluster: str, columns: list[str]) -> tuple[pd.DataFrame, pd.Series]:
    """Each school's modal value of every school-level column, and its size."""
    grouped = frame.groupby(cluster, dropna=False, sort=True)
    modal = grouped[columns].agg(lambda c: c.mode(dropna=False).iloc[0] if len(c) else np.nan)
    return modal, grouped.size()


def school_disclosure(real: pd.DataFrame, synth: pd.DataFrame, meta: TrialMeta) -> dict[str, float | None]:
    columns = school_level_columns(real, meta)
    if not columns or meta.cluster is None or meta.cluster not in synth.columns:
        return dict.fromkeys(SCHOOL_KEYS)
    # real pupils without a school (no id) are no school to point at; synthetic ones are grouped
    # by their school-level profile, as an intruder would group them (a blank id hides nothing)
    real_profile, real_size = profiles(real[real[meta.cluster].notna()], meta.cluster, columns)
    synth_profile, synth_size = profiles(
        _blank_as_profiles(synth, meta.cluster, columns), meta.cluster, columns
    )
    fits = fitting(real_profile, synth_profile, windows(real, real_profile, meta))
    single = fits.sum(axis=1) == 1
    share = float(single.mean()) if len(single) else None
    correlation = None
    if single.sum() >= 3:
        pointed = real_size.to_numpy()[fits[single].argmax(axis=1)]
        mine = synth_size.to_numpy()[single]
        if np.std(pointed) > 0 and np.std(mine) > 0:
            correlation = float(np.corrcoef(mine, pointed)[0, 1])
    return {"school_reidentification": share, "school_size_correlation": correlation}


def _blank_as_profiles(synth: pd.DataFrame, cluster: str, columns: list[str]) -> pd.DataFrame:
    """``synth`` with each row without a school id labelled by its school-level profile."""
    blank = synth[cluster].isna()
    if not blank.any():
        return synth
    rows = synth.loc[blank, columns].to_numpy(dtype=object)
    profile = pd.Series(["|".join(map(str, row)) for row in rows], index=synth.index[blank])
    labels = synth[cluster].astype(object).copy()
    labels[blank] = "\0no id: " + profile
    return synth.assign(**{cluster: labels})
