"""The evaluation view: real and synthetic data made comparable for synthgauge's metrics.

Both frames get the same treatment, decided from the real data only:
- the cluster column is left out (synthetic school labels are new by design, never real ids);
- categorical columns become text with missing values as the category ``"NA"``;
- numeric columns with missing values are filled with the real median and get a 0/1
  ``<name>__missing`` column, so missingness is evaluated as a feature (Appendix A);
- a real numeric column is read at its own precision, at most 6 decimal places - the most any
  route releases (``domain.decimals_of``, over all its values): a real item-response score held
  to 16 digits and its release at 6 are the same value to an analysis, and a propensity model
  would otherwise separate them on the digits alone. The synthetic file is read as it is (a file
  with more places than the real column holds is still seen).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from trialsynth.domain import decimals_of
from trialsynth.meta import TrialMeta
from trialsynth.missing import MISSING_SUFFIX, NA_CATEGORY, encode_missing_categories


@dataclass(frozen=True)
class EvaluationContext:
    meta: TrialMeta
    seed: int
    categorical: tuple[str, ...]
    numeric: tuple[str, ...]
    # real rows the synthesiser never saw (bool per real row; None: no holdout)
    holdout: np.ndarray | None = field(default=None, repr=False)
    # a trial with schools: each real and each synthetic row's school, and the school-level
    # columns (``school_level_columns``), for the propensity model at the schools' level
    schools: np.ndarray | None = field(default=None, repr=False)
    synth_schools: np.ndarray | None = field(default=None, repr=False)
    school_columns: tuple[str, ...] = ()
    # a long-format file: each real row's pupil and, where the method drew pupils, each synthetic
    # row's (``dcr_share`` is then measured between pupils)
    units: np.ndarray | None = field(default=None, repr=False)
    synth_units: np.ndarray | None = field(default=None, repr=False)


def sample_rows(frame: pd.DataFrame, rows: int, rng: np.random.Generator) -> pd.DataFrame:
    """At most ``rows`` rows of ``frame``, a seeded sample without replacement in file order (the
    whole frame when it is no longer): the cap every metric with a cost in rows uses."""
    if len(frame) <= rows:
        return frame
    return frame.iloc[np.sort(rng.choice(len(frame), rows, replace=False))]


def _labels(ids: pd.Series) -> np.ndarray:
    """School ids as text, a missing id as the school "nan" (``astype(str)`` keeps it missing)."""
    return ids.map(str).to_numpy(dtype=object)


def school_level_columns(real: pd.DataFrame, meta: TrialMeta) -> list[str]:
    """Columns constant within every real school that differ between schools."""
    if not meta.cluster:
        return []
    grouped = real.groupby(meta.cluster, dropna=False, sort=False)
    out = []
    for name in real.columns:
        if name == meta.cluster:
            continue
        within = grouped[name].nunique(dropna=False)
        if int(within.max()) == 1 and real[name].nunique(dropna=False) > 1:
            out.append(name)
    return out


def evaluation_view(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    meta: TrialMeta,
    seed: int,
    holdout: np.ndarray | None = None,
    units: np.ndarray | None = None,
    synth_units: np.ndarray | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, EvaluationContext]:
    columns = [c for c in meta.columns if c != meta.cluster]
    text = [
        c for c in columns if meta.kinds[c] == "categorical" or not pd.api.types.is_numeric_dtype(real[c])
    ]
    numeric = [c for c in columns if c not in text]
    real_view = encode_missing_categories(real[columns], text)
    synth_view = encode_missing_categories(synthetic[columns], text)
    for name in numeric:
        if real[name].isna().any() or synthetic[name].isna().any():
            fill = real[name].median()
            for view, source in ((real_view, real), (synth_view, synthetic)):
                view[name + MISSING_SUFFIX] = source[name].isna().astype(int).to_numpy()
                view[name] = source[name].astype("float64").fillna(fill).to_numpy()
        else:
            real_view[name] = real[name].astype("float64")
            synth_view[name] = synthetic[name].astype("float64")
        # the real values at what any route can release (at most 6 places); the file as it is
        real_view[name] = real_view[name].round(decimals_of(real[name], rows=None))
    numeric_all = [c for c in real_view.columns if c not in text]
    if holdout is not None and len(holdout) != len(real):
        raise ValueError(f"holdout marks {len(holdout)} rows; the real data has {len(real)}")
    if synth_units is not None and len(synth_units) != len(synthetic):
        raise ValueError(f"synth_units marks {len(synth_units)} rows; the synthetic has {len(synthetic)}")
    cluster = meta.cluster
    two_level = cluster is not None and cluster in real and cluster in synthetic
    context = EvaluationContext(
        meta=meta,
        seed=seed,
        categorical=tuple(text),
        numeric=tuple(numeric_all),
        holdout=holdout,
        schools=_labels(real[cluster]) if two_level else None,
        synth_schools=_labels(synthetic[cluster]) if two_level else None,
        school_columns=tuple(school_level_columns(real, meta)) if two_level else (),
        units=units,
        synth_units=synth_units if units is not None else None,
    )
    return real_view, synth_view, context


__all__ = ["NA_CATEGORY", "EvaluationContext", "evaluation_view", "sample_rows", "school_level_columns"]
