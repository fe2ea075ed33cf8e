"""``trialsynth compare`` (every candidate method on one trial) and ``trialsynth env`` (the
comparator environment it needs for synthcity's generators)."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from rich.table import Table

from cli.common import EXIT_FAILED, EXIT_OK, catalogue_url, console, error, fmt
from flows import environment
from trialsynth.errors import RegistryError


def cmd_env(args) -> int:
    from trialsynth.comparators.environment import create, location, status

    if args.env_command == "status":
        current = status(location(environment.home()))
        if current.ready:
            versions = ", ".join(f"{k} {v}" for k, v in current.versions.items())
            print(f"ready: {current.path} ({versions})")
            return EXIT_OK
        print(current.reason)
        return EXIT_FAILED
    try:
        create(location(environment.home()), python=args.python, rebuild=args.rebuild, say=print)
    except RuntimeError as exc:
        error(exc)
        return EXIT_FAILED
    return EXIT_OK


def cmd_compare(args) -> int:
    from registry.plans import build_plans
    from registry.validation import check_registry
    from trialsynth.errors import TrialsynthError
    from trialsynth.run.compare import candidates, trial_rows

    url = catalogue_url(args)
    manifest, problems = check_registry(Path(args.registry))
    if args.trial not in {t.id for t in manifest.trials}:
        raise RegistryError([f"no trial {args.trial!r} in {args.registry}"])
    (plan,) = build_plans(manifest, [args.trial], problems)
    if plan.problems:
        raise RegistryError([f"trial {args.trial!r}: {problem}" for problem in plan.problems])
    try:  # checked here, before Prefect starts, so a bad command line is refused at once
        n_rows = trial_rows(plan)
        chosen = candidates(plan, n_rows, args.methods)
    except TrialsynthError as exc:
        raise RegistryError([str(exc)]) from exc
    out_dir = Path(args.out) if args.out else environment.default_out_dir()
    environment.configure_prefect(environment.home(), log_level="INFO" if args.verbose else "WARNING")
    from flows.compare_trial import compare_trial
    from trialsynth.catalogue.session import sessions_for

    sessions_for(url)
    console.print(
        f"comparing {len(chosen)} methods on {args.trial} ({n_rows} rows): "
        + ", ".join(c.label for c in chosen)
    )
    result = compare_trial(
        plan=plan,
        registry=str(Path(args.registry).resolve()),
        trial_id=args.trial,
        catalogue_url=url,
        out_dir=str(out_dir.resolve()),
        methods=args.methods,
        cache_dir=str(environment.home()),
        cart_trials=args.cart_trials,
        cart_seconds=args.cart_seconds,
    )
    rows = result["rows"]
    if args.json:
        print(json.dumps(rows, indent=2, default=str))
    else:
        _print_comparison(rows, args.trial)
    console.print(f"comparison {result['comparison_id']}: {result['files']['html']}")
    return EXIT_FAILED if all(r["status"] != "succeeded" for r in rows) else EXIT_OK


SHORT_CATEGORY = {"multivariate_detailed": "mv detailed", "multivariate_plausible": "mv plausible"}


def _print_comparison(rows: list[dict], trial_id: str) -> None:
    """The candidates ranked, fidelity beside the release gate's verdicts, then each one's
    error; a measure over its limit in red."""
    from trialsynth.reports.comparison import RANKING, risk_value

    table = Table(title=f"methods compared on {trial_id}", caption=RANKING)
    fidelity = {
        "feature_density_mad": "MAD",
        "corr_msd": "corr MSD",
        "pmse_ratio": "pMSE",
        "effect_ci_overlap": "effect",
    }
    risks = {
        "replicated_uniques": "uniques",
        "singling_out_risk": "singling",
        "dcr_share": "dcr",
        "school_reidentification": "school",
    }
    for column in (
        "#",
        "method",
        "category",
        "gate",
        *fidelity.values(),
        *risks.values(),
        "fit s",
        "total s",
    ):
        table.add_column(column, no_wrap=True, min_width=len(column))
    for row in rows:
        metrics, over = row["metrics"], row.get("over") or []
        gate = {True: "passes", False: "[red]refuses[/red]", None: row["status"]}[row.get("would_release")]
        table.add_row(
            str(row.get("rank") or ""),
            row["method"],
            SHORT_CATEGORY.get(row["ons_category"] or "", row["ons_category"] or ""),
            gate,
            *[fmt(metrics.get(key)) for key in fidelity],
            *[
                f"[red]{fmt(risk_value(row, key))}[/red]" if key in over else fmt(risk_value(row, key))
                for key in risks
            ],
            fmt(row["fit_s"]),
            fmt(row["seconds"]),
        )
    Console(width=max(Console().width, 150)).print(table)
    for row in rows:
        if row.get("over"):
            console.print(f"{row['method']}: the release gate would refuse it: {', '.join(row['over'])}")
        if row.get("domain") and "drafted" in row["domain"]:
            console.print(f"{row['method']}: domain {row['domain']}", highlight=False)
        if row["error"]:
            console.print(f"{row['method']}: {row['error']}", highlight=False)
