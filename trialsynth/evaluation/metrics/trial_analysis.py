"""The trial's own analysis, on the real and on the synthetic file: does the treatment effect
replicate, and does the school structure?

**Primary analysis** (statsmodels OLS): the primary outcome on the arms (k - 1 contrasts against
the reference arm) and the baseline covariates - those the manifest declares (``covariates``),
else the primary outcome's pre-test twin (``post_...`` -> ``pre_...``) when the file has one, else
none (unadjusted). Standard errors are cluster-robust by school when a cluster is declared
(``cov_type="cluster"``), heteroskedasticity-robust (HC1) otherwise. Complete cases on outcome, arm
and covariates; unrandomised rows (missing arm) are left out, as the trial's analysis would.

Per contrast: both estimates and standard errors, 95% intervals, the **CI overlap** of Karr et al.
(2006) - the mean of the shares of each interval covered by their intersection, negative when the
intervals are disjoint (how far apart, floored at -1) - the **standardised difference** (synthetic minus real
estimate, over the real standard error) and whether **sign and significance** (at 5%) agree. The
catalogue's summaries: ``effect_ci_overlap`` the smallest overlap, ``effect_std_diff`` the
largest absolute standardised difference, ``effect_sign_agreement`` the share of contrasts that
agree. A contrast the synthetic file cannot estimate (an arm missing) scores overlap -1, no
agreement.

**ICC** of the primary outcome by school (``icc_real``, ``icc_synthetic``): the one-way
random-effects ANOVA estimator (statsmodels ``anova_lm``), with Donner's n0 for unequal school
sizes; None without a cluster. School sizes (quartiles, count) are recorded beside it.
"""

from __future__ import annotations

import re
import warnings
from typing import Any

import numpy as np
import pandas as pd

from trialsynth.data.schools import icc, school_key
from trialsynth.meta import TrialMeta

EFFECT_KEYS = ("effect_ci_overlap", "effect_std_diff", "effect_sign_agreement", "icc_real", "icc_synthetic")
Z95 = 1.959963984540054
ALPHA = 0.05


def default_covariates(meta: TrialMeta, declared: tuple[str, ...] = ()) -> list[str]:
    """The covariates of the primary analysis: the declared ones that were synthesised, else the
    primary outcome's pre-test twin when there is one."""
    if declared:
        return [c for c in declared if c in meta.kinds and c != meta.treatment]
    twin = re.sub(r"(?i)post", "pre", meta.primary_outcome, count=1)
    if twin != meta.primary_outcome and meta.kinds.get(twin) in ("continuous", "binary"):
        return [twin]
    return []


def _design(frame: pd.DataFrame, meta: TrialMeta, covariates: list[str], arms: list) -> tuple:
    from trialsynth.missing import as_label

    outcome, treatment = meta.primary_outcome, meta.treatment
    columns = [outcome, treatment, *covariates, *([meta.cluster] if meta.cluster else [])]
    data = frame[columns].copy()
    data[outcome] = pd.to_numeric(data[outcome], errors="coerce")
    for name in covariates:
        data[name] = pd.to_numeric(data[name], errors="coerce")
    data = data.dropna(subset=[outcome, treatment, *covariates])
    arm = data[treatment].map(as_label)
    labels = [as_label(a) for a in arms]
    design = pd.DataFrame({"const": 1.0}, index=data.index)
    for label in labels[1:]:
        design[f"arm={label}"] = (arm == label).astype(float)
    for name in covariates:
        design[name] = data[name].astype(float)
    keep = arm.isin(labels)
    return data.loc[keep, outcome].astype(float), design.loc[keep], data.loc[keep], labels


def primary_analysis(frame: pd.DataFrame, meta: TrialMeta, covariates: list[str]) -> dict[str, tuple]:
    """``{arm: (estimate, standard error, p value)}`` for each non-reference arm (None where the
    arm cannot be estimated from this file)."""
    import statsmodels.api as sm

    arms = [arm for arm, _ in meta.arms]
    y, design, data, labels = _design(frame, meta, covariates, arms)
    present = [c for c in design.columns if c == "const" or design[c].std() > 0]
    out: dict[str, tuple] = {label: (None, None, None) for label in labels[1:]}
    if len(y) <= len(present) or y.std() == 0:
        return out
    model = sm.OLS(y.to_numpy(), design[present].to_numpy())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if meta.cluster and data[meta.cluster].nunique() > 1:  # a missing school: a group of its own
            groups = pd.factorize(data[meta.cluster].map(school_key))[0]
            fit = model.fit(cov_type="cluster", cov_kwds={"groups": groups})
        else:
            fit = model.fit(cov_type="HC1")
    for i, name in enumerate(present):
        if name.startswith("arm="):
            out[name.removeprefix("arm=")] = (float(fit.params[i]), float(fit.bse[i]), float(fit.pvalues[i]))
    return out


def ci_overlap(real: tuple[float, float], synthetic: tuple[float, float]) -> float:
    """Karr et al. (2006): the mean share of each 95% interval covered by their intersection."""
    (b_r, se_r), (b_s, se_s) = real, synthetic
    lo_r, hi_r, lo_s, hi_s = b_r - Z95 * se_r, b_r + Z95 * se_r, b_s - Z95 * se_s, b_s + Z95 * se_s
    common = min(hi_r, hi_s) - max(lo_r, lo_s)
    return max(-1.0, 0.5 * (common / (hi_r - lo_r) + common / (hi_s - lo_s)))


def _binary_as_indicator(
    real: pd.DataFrame, synthetic: pd.DataFrame, meta: TrialMeta
) -> tuple[pd.DataFrame, pd.DataFrame, str | None]:
    """A binary primary outcome held as text ("yes"/"no") as 0/1 for the linear probability
    model: 1 = its last level in sorted order, the same coding on both files (None: unchanged)."""
    name = meta.primary_outcome
    values = real[name]
    if meta.kinds.get(name) != "binary" or pd.api.types.is_numeric_dtype(values):
        return real, synthetic, None
    levels = sorted(values.dropna().astype(str).unique())
    if len(levels) != 2:
        return real, synthetic, None
    positive = levels[-1]

    def code(frame: pd.DataFrame) -> pd.DataFrame:
        column = frame[name]
        coded = np.where(column.isna(), np.nan, (column.astype(str) == positive).astype(float))
        return frame.assign(**{name: coded})

    return code(real), code(synthetic), f"1 = {positive!r}, 0 = {levels[0]!r}"


def _sizes(frame: pd.DataFrame, cluster: str) -> dict[str, float | None]:
    sizes = frame[cluster].value_counts()
    if sizes.empty:  # no school id drawn (e.g. none passed a DP domain's level selection)
        return {"schools": 0, "q1": None, "median": None, "q3": None}
    quartiles = sizes.quantile([0.25, 0.5, 0.75]).round(1).tolist()
    return {"schools": int(len(sizes)), "q1": quartiles[0], "median": quartiles[1], "q3": quartiles[2]}


def _contrasts(real_fit: dict, synth_fit: dict) -> list[dict[str, Any]]:
    """Each arm's contrast on the real and the synthetic file: estimates, the confidence
    intervals' overlap, the standardised difference, whether sign and significance agree."""
    contrasts: list[dict[str, Any]] = []
    for arm, (b_r, se_r, p_r) in real_fit.items():
        b_s, se_s, p_s = synth_fit.get(arm, (None, None, None))
        if b_r is None or se_r is None or not se_r > 0:
            continue
        if b_s is None or se_s is None or not se_s > 0:
            overlap, std_diff, agree = -1.0, float("inf"), False
        else:
            overlap = ci_overlap((b_r, se_r), (b_s, se_s))
            std_diff = (b_s - b_r) / se_r
            agree = bool(np.sign(b_s) == np.sign(b_r) and (p_s < ALPHA) == (p_r < ALPHA))
        contrasts.append(
            {
                "arm": arm,
                "real": {"estimate": b_r, "se": se_r, "p": p_r},
                "synthetic": {"estimate": b_s, "se": se_s, "p": p_s},
                "ci_overlap": overlap,
                "std_diff": std_diff if np.isfinite(std_diff) else None,
                "sign_significance_agree": agree,
            }
        )
    return contrasts


def trial_analysis(
    real: pd.DataFrame, synthetic: pd.DataFrame, meta: TrialMeta, declared: tuple[str, ...] = ()
) -> tuple[dict[str, float | None], dict[str, Any]]:
    """The five ``EFFECT_KEYS`` and the detail behind them (per contrast, covariates, schools)."""
    metrics: dict[str, float | None] = dict.fromkeys(EFFECT_KEYS)
    detail: dict[str, Any] = {"outcome": meta.primary_outcome, "reference_arm": meta.reference_arm}
    real, synthetic, coded = _binary_as_indicator(real, synthetic, meta)
    if coded is not None:
        detail["outcome_coded"] = coded
    outcome = real[meta.primary_outcome]
    numeric = meta.kinds.get(meta.primary_outcome) in ("continuous", "binary") and bool(
        pd.to_numeric(outcome, errors="coerce").notna().any()
    )
    if numeric and len(meta.arms) >= 2:
        covariates = default_covariates(meta, declared)
        try:
            real_fit = primary_analysis(real, meta, covariates)
            synth_fit = primary_analysis(synthetic, meta, covariates)
        except (ValueError, np.linalg.LinAlgError) as exc:  # recorded; the rules then fail on None
            real_fit, synth_fit = {}, {}
            detail["error"] = f"primary analysis: {type(exc).__name__}: {exc}"
        contrasts = _contrasts(real_fit, synth_fit)
        if contrasts:
            diffs = [abs(c["std_diff"]) if c["std_diff"] is not None else float("inf") for c in contrasts]
            metrics["effect_ci_overlap"] = min(c["ci_overlap"] for c in contrasts)
            metrics["effect_std_diff"] = max(diffs) if np.isfinite(max(diffs)) else None
            metrics["effect_sign_agreement"] = float(
                np.mean([c["sign_significance_agree"] for c in contrasts])
            )
        detail.update(
            covariates=covariates, standard_errors="cluster" if meta.cluster else "HC1", contrasts=contrasts
        )
    if meta.cluster and numeric:
        try:
            metrics["icc_real"] = icc(real, meta.primary_outcome, meta.cluster)
            metrics["icc_synthetic"] = icc(synthetic, meta.primary_outcome, meta.cluster)
        except (ValueError, np.linalg.LinAlgError) as exc:
            detail["icc_error"] = f"{type(exc).__name__}: {exc}"
        detail["schools"] = {"real": _sizes(real, meta.cluster), "synthetic": _sizes(synthetic, meta.cluster)}
    return metrics, detail
