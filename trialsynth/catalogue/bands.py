"""Public bands for metrics: the study recommends publishing only *ranges* of metric values.

The public export replaces every exact metric by the band it falls in; exact values stay in the
operator's view. Bands (``BANDS_VERSION``, stored in the export) are upper-bounded intervals
chosen around the ONS category thresholds, so the band says which categories a value allows
without pinpointing it. ``sample_overlap`` and ``min_nn_distance*`` bands are coarse on purpose:
they are disclosure measures.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

# v3: scaled nearest-neighbour distances, S_pMSE, the holdout utility beside the study's
# v4: the attack risks (signed: below 0 is no excess over the control), dcr_share and the school
# re-identification share, cut at the release gate's default limits
BANDS_VERSION = "bands-v4"

BANDS: dict[str, tuple[float, ...]] = {
    "corr_msd": (0.0005, 0.005, 0.02, 0.1),
    "corr_ratio_msd": (0.0005, 0.005, 0.02, 0.1),
    "pmse_ratio": (1.5, 3.0, 10.0),
    "feature_density_mad": (0.001, 0.005, 0.01, 0.02),  # shares of rows per bin (v2 definition)
    "feature_density_mad_study": (0.01, 0.05, 0.1, 0.2),
    "corr_msd_other": (0.0005, 0.005, 0.02, 0.1),
    "tcap_baseline": (0.1, 0.3, 0.5),
    "tcap_excess": (0.0, 0.05, 0.1, 0.3),
    "sample_overlap_study": (0.0, 0.01),
    "precision_diff": (0.01, 0.05, 0.1),
    "recall_diff": (0.01, 0.05, 0.1),
    "f1_diff": (0.01, 0.05, 0.1),
    "min_nn_distance": (0.0, 0.05, 0.2),  # scaled Euclidean (v3): a category mismatch is 1
    "min_nn_distance_outliers": (0.0, 0.05, 0.2),
    "min_nn_distance_study": (0.0, 1.0, 5.0),  # the study's unscaled Manhattan
    "pmse_standardised": (2.0, 10.0, 100.0),
    "f1_diff_study": (0.01, 0.05, 0.1),
    "tcap": (0.1, 0.3, 0.5),
    "sample_overlap": (0.0, 0.01),
    "coef_mae": (0.005, 0.02, 0.1),
    "replicated_uniques": (0.0,),  # released files hold none; a blocked file says only "> 0"
    "exact_matches": (0.0, 100.0, 1000.0),
    "effect_ci_overlap": (0.0, 0.5, 0.8),  # signed: negative when the intervals are disjoint
    "effect_std_diff": (0.5, 1.0, 2.0),
    "effect_sign_agreement": (0.5, 0.99),
    "icc_real": (0.05, 0.1, 0.2),
    "icc_synthetic": (0.05, 0.1, 0.2),
    "singling_out_risk": (0.0, 0.1, 0.5),
    "linkability_risk": (0.0, 0.05, 0.1),
    "inference_risk": (0.0, 0.1, 0.2),
    "dcr_share": (0.55, 0.65, 0.8),
    "school_reidentification": (0.0, 0.1),
}
SIGNED = {
    "effect_ci_overlap",
    "singling_out_risk",
    "linkability_risk",
    "inference_risk",
}  # banded as they are, not by absolute value


def band(metric: str, value: float | None) -> str | None:
    """``"<= a"``, ``"a-b"`` or ``"> z"`` for ``value`` (by absolute value for the utility
    differences); None when the metric is undefined or has no band."""
    if value is None or metric not in BANDS or (isinstance(value, float) and math.isnan(value)):
        return None
    value = value if metric in SIGNED else abs(value)
    edges = BANDS[metric]
    if value <= edges[0]:
        return f"<= {edges[0]:g}"
    for low, high in zip(edges[:-1], edges[1:], strict=True):
        if value <= high:
            return f"{low:g}-{high:g}"
    return f"> {edges[-1]:g}"


def public_record(record: Mapping) -> dict:
    """A catalogue record with metrics banded and operator-only detail (paths, params, errors,
    timings, lineage) left out."""
    metrics = record.get("metrics") or {}
    return {
        "trial_id": record["trial_id"],
        "status": record["status"],
        "method": record["method"],
        "n_rows": record["n_rows"],
        "n_cols": record["n_cols"],
        "epsilon": record["epsilon"],
        "ons_category": record["ons_category"],
        "category_rules": record.get("category_rules"),
        "release": record.get("release"),
        "access_tier": record.get("access_tier"),
        "metric_bands": {key: band(key, value) for key, value in metrics.items()},
        "bands_version": BANDS_VERSION,
        "finished_at": record["finished_at"],
        "code_version": record["code_version"],
    }
