"""Routing by cleaned sample size (SPEC): small -> ea (or none), mid -> cart, large -> the
archive's large-trial DP method (``large_method``: aim by default, chosen on
``bench/dp_methods.py``; mst by name)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from trialsynth.data.files import files_hash
from trialsynth.outputs.supplied import Released
from trialsynth.plan import Policy, TrialPlan

OUTPUTS_METHOD = "ea"  # the route of a trial whose entry supplies released outputs


@dataclass(frozen=True)
class Route:
    method: str
    reason: str

    def record(self) -> dict[str, Any]:
        return {"method": self.method, "route_reason": self.reason}


@dataclass(frozen=True)
class Skipped:
    """Routing chose to release nothing (``small_policy: none``)."""

    def record(self) -> dict[str, Any]:
        return {"status": "skipped", "error": None}


@dataclass(frozen=True)
class OutputsOnly:
    """A trial known only by released outputs (no microdata held), and the method that
    synthesises it from them."""

    released: Released
    method: str

    def record(self) -> dict[str, Any]:
        outputs, paths = self.released.outputs, self.released.paths
        return {
            "method": self.method,
            "route_reason": f"no microdata: synthesis from the released outputs of {len(paths)} source(s)",
            "n_rows": outputs.n_rows,
            "n_cols": len(outputs.columns) or len(outputs.variables),
            "cleaning": {"input_sha256": files_hash(paths), "released_outputs": [str(p) for p in paths]},
        }


def outputs_method(plan: TrialPlan) -> str:
    """The method that synthesises from a plan's released outputs: the manifest's own choice
    (validated to be able to), else the default route."""
    return plan.method if plan.method not in ("auto", "none") else OUTPUTS_METHOD


def route(n_rows: int, method: str, policy: Policy, *, outputs_supplied: bool = False) -> Route:
    """The method for a trial of ``n_rows`` cleaned rows, with the reason stored in the catalogue.

    A trial whose manifest entry supplies released outputs is synthesised from them (``ea``)
    unless the manifest names another method.
    """
    if method != "auto":
        return Route(method, f"manifest sets method: {method} ({n_rows:,} rows)")
    if outputs_supplied:
        return Route(
            OUTPUTS_METHOD,
            f"auto: released outputs supplied in the manifest ({n_rows:,} rows held for evaluation)",
        )
    small, large = policy.small_threshold, policy.large_threshold
    if n_rows < small:
        if policy.small_policy == "none":
            return Route(
                "none",
                f"auto: {n_rows:,} rows < small_threshold {small:,} and small_policy is none: "
                "no synthetic file is released",
            )
        return Route(
            "ea", f"auto: {n_rows:,} rows < small_threshold {small:,}: synthesis from released outputs"
        )
    if n_rows < large:
        return Route("cart", f"auto: {small:,} <= {n_rows:,} rows < large_threshold {large:,}")
    names = {"mst": "MST", "aim": "AIM"}
    method = policy.large_method
    return Route(
        method,
        f"auto: {n_rows:,} rows >= large_threshold {large:,}: differentially private "
        f"{names.get(method, method)}",
    )
