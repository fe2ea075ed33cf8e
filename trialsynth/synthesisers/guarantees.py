"""The guarantee texts of a marginal method's release (MST, AIM): what neighbouring datasets
differ by, how the domain became public, the atoms' selection, and the statement for a file made
on a domain read from the rows (never private)."""

from __future__ import annotations

from trialsynth.domain import PublicDomain
from trialsynth.dp.accounting import Budget


def neighbours_statement(epsilon: float, delta: float, budget: Budget) -> str:
    """The opening of a release's guarantee: what neighbouring datasets differ by, and rho."""
    if budget.unit_rows == 1:
        return (
            f"({epsilon:g}, {delta:g})-DP for neighbouring datasets that differ by replacing one row "
            f"(the row count is public): rho = {budget.rho:.6g} zCDP at delta {budget.delta_conversion:g}; "
        )
    return (
        f"({epsilon:g}, {delta:g})-DP for neighbouring datasets that differ by replacing one pupil's "
        f"rows (each pupil contributes exactly {budget.unit_rows} of its own rows, drawn again or left "
        f"out at random; the pupil count is public): rho = {budget.rho_per_unit:.6g} zCDP at delta "
        f"{budget.delta_conversion:g}, the mechanism run at rho {budget.rho:.6g} a row (group "
        f"privacy: x {budget.unit_rows}^2); below, rho per row; "
    )


NOT_PRIVATE = (
    "not differentially private: the domain (levels, ranges, precision) was read from the trial's "
    "own rows for a comparison of methods, so the file discloses what they hold whatever the "
    "noise; such a file is never released"
)


def drafted(domain: PublicDomain | None) -> bool:
    """Whether a fit's domain was read from private rows (``PublicDomain.public`` false)."""
    return domain is not None and not domain.public


def domain_statement(budget: Budget) -> str:
    """The part of a release's guarantee that says how its domain became public."""
    if budget.parts.get("domain"):
        return (
            "the undeclared parts of the domain were estimated under DP with rho "
            f"{budget.parts['domain']:.6g} (delta {budget.delta_each_selection:g} for level selection); "
        )
    return "the domain was declared in full (public); "


def atoms_statement(budget: Budget) -> str:
    """The part of a release's guarantee on the continuous columns' atoms (``dp.atoms``)."""
    if not budget.parts.get("atoms"):
        return ""
    return (
        "the values continuous columns pile up on were selected by Gaussian partition selection "
        f"with rho {budget.parts['atoms']:.6g} (delta {budget.delta_each_selection:g}); "
    )


def aim_statement(workload: str, rounds: int) -> str:
    """AIM's part of a release's guarantee (``aim``)."""
    return (
        f"AIM with a {workload} workload: one-way "
        f"marginals and {rounds} adaptive rounds, each an exponential-mechanism selection "
        "(sensitivity 2 x the largest weight, epsilon_t^2/8) and a discrete Gaussian measurement "
        "(sensitivity sqrt 2, 1/sigma_t^2), their costs summing to the rho left after the domain "
        "and the atoms; "
        "noise from the operating system's secure generator (never stored). Covered: the synthetic "
        "file. Read without noise but public: the row count, the declared domain and the workload "
        "(built from the column roles). Not covered: the evaluation metrics in the catalogue, "
        "computed on the real data."
    )
