"""A trial's report: the secure page (aggregates of the real data), its public variant (bands
only) and the data card that travels with the released file."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import ChainableUndefined, Environment, PackageLoader, select_autoescape

from trialsynth.catalogue.bands import band, public_record
from trialsynth.data.files import write_atomically
from trialsynth.evaluation.categories import rule_table
from trialsynth.evaluation.metrics import RECORD_METRIC_KEYS
from trialsynth.evaluation.metrics.study import STUDY_KEY, STUDY_TABLE5_CART
from trialsynth.reports import charts
from trialsynth.versions import code_version

PLAIN_CATEGORY = {
    "replica": "real records reproduced",
    "multivariate_detailed": "joint distributions and the trial's analysis kept",
    "multivariate_plausible": "some relationships between columns kept",
    "plausible": "each column's distribution kept, relationships not",
    "valid": "types, levels and missing values kept, distributions not",
    "structural": "the file's format only",
}
GATE_RULE = "0 rows equal to a real record unique on the key variables (replicated uniques)"


@dataclass(frozen=True)
class ReportFiles:
    report: Path  # the secure page
    public: Path  # bands only
    card: Path  # the data card (Markdown)


@cache
def environment() -> Environment:
    return Environment(
        loader=PackageLoader("trialsynth.reports", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),  # not the card
        undefined=ChainableUndefined,  # a record without some detail still renders
        keep_trailing_newline=True,
    )


@cache
def page_css() -> str:
    return (Path(__file__).parent / "templates" / "base.css").read_text()


@cache
def plotly_js() -> str:
    """plotly's JavaScript bundle (no CDN at view time: ``plotly_bundle``)."""
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


def plotly_bundle(folder: Path) -> str:
    """plotly's bundle written once into ``folder`` as ``plotly-<version>.min.js`` (4.9 MB), which
    every page there that draws loads by name: the pages open offline wherever the folder goes,
    and each weighs its own content only (inlined, the bundle made each page about 5 MB).
    Returns the name the pages load."""
    import plotly

    path = folder / f"plotly-{plotly.__version__}.min.js"
    bundle = plotly_js()
    if not path.is_file() or path.stat().st_size != len(bundle.encode("utf-8")):
        write_atomically(bundle, path)
    return path.name


def fmt(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def report_names(output_path: Path) -> tuple[Path, Path, Path]:
    """Where a released file's report, public variant and data card are written (beside it)."""
    stem = output_path.name.split(".")[0]
    folder = output_path.parent
    return folder / f"{stem}.report.html", folder / f"{stem}.public.html", folder / f"{stem}.card.md"


def render_report(
    record: dict[str, Any], aggregates: dict[str, Any], public_name: str, plotly_src: str = ""
) -> str:
    """The secure page; ``plotly_src``: the plotly bundle beside it (``plotly_bundle``)."""
    metrics = record.get("metrics") or {}
    analysis = record.get("analysis") or {}
    why = analysis.get("category") or {}
    contrasts = _cleared_contrasts(analysis.get("contrasts") or [], record, aggregates.get("min_cell", 10))
    columns = aggregates.get("columns") or []
    figures = {
        "forest": charts.to_div(charts.forest(contrasts), "forest") if contrasts else "",
        "columns": [charts.to_div(charts.distribution(c), f"column-{i}") for i, c in enumerate(columns)],
        "correlations": [
            charts.to_div(figure, f"correlation-{i}")
            for i, figure in enumerate(charts.correlations(aggregates["correlation"]))
        ]
        if aggregates.get("correlation")
        else [],
        "missingness": charts.to_div(charts.missingness(columns), "missingness") if columns else "",
    }
    params = record.get("params") or {}
    return (
        environment()
        .get_template("trial.html.j2")
        .render(
            r=record,
            m=metrics,
            agg=aggregates,
            analysis=analysis,
            why={"next_category": None, "valid_problems": [], "not_applicable": [], **why},
            rules=rule_table(metrics, why.get("not_applicable") or []),
            contrasts=contrasts,
            metric_rows=_metric_rows(metrics),
            disclosure=_disclosure(metrics),
            charts=figures,
            guarantee=params.get("guarantee"),
            params_json=json.dumps(params, indent=2, default=str),
            lineage_json=json.dumps(
                {"lineage": record.get("lineage"), "release_identity": record.get("release_identity")},
                indent=2,
                default=str,
            ),
            public_name=public_name,
            generated=datetime.now(UTC).isoformat(timespec="seconds"),
            css=page_css(),
            plotly_src=plotly_src,
            code=code_version(),
            fmt=fmt,
        )
    )


def render_public(record: dict[str, Any]) -> str:
    """What ``catalogue --public`` shows of the trial (``bands.public_record``, the same record):
    category, method, epsilon, metric bands."""
    public = public_record(record)
    bands = [(key, value) for key, value in public["metric_bands"].items() if value is not None]
    return (
        environment()
        .get_template("public.html.j2")
        .render(r=public, bands=bands, bands_version=public["bands_version"], css=page_css())
    )


def render_card(record: dict[str, Any]) -> str:
    params = record.get("params") or {}
    return (
        environment()
        .get_template("card.md.j2")
        .render(
            r=record,
            plain_category=PLAIN_CATEGORY.get(record.get("ons_category") or "", "not categorised"),
            guarantee=params.get("guarantee"),
            limitations=limitations(record),
        )
    )


def limitations(record: dict[str, Any]) -> list[str]:
    """What a user of the file should know, from its own measures - in words, never a value
    computed on the real data (the card travels with the released file)."""
    metrics = record.get("metrics") or {}
    analysis = record.get("analysis") or {}
    out = []
    overlap = metrics.get("effect_ci_overlap")
    if overlap is not None and overlap < 0.5:
        out.append(
            "The treatment effect on the primary outcome is not reproduced well (its confidence "
            "interval overlaps the real one by less than half): do not read effect sizes off this file."
        )
    icc_real, icc_synth = metrics.get("icc_real"), metrics.get("icc_synthetic")
    if icc_real is not None and icc_synth is not None and abs(icc_real - icc_synth) > 0.05:
        out.append("Clustering by school is weaker or stronger than in the real data.")
    why = analysis.get("category") or {}
    failing = sorted({text.split(" ")[0] for text in why.get("next_category_fails") or []})
    if failing and why.get("next_category") not in (None, "replica"):
        out.append(f"Not {why['next_category']} because of: {', '.join(failing)}.")
    if record.get("epsilon") is not None:
        out.append("Differential privacy noise weakens relationships between columns, most at small epsilon.")
    out.append(
        "Rare categories and extreme values may be missing or smoothed; school labels are not real schools."
    )
    return out


def rendered_by(report: Path) -> str | None:
    """The code version that rendered a report (its ``generator`` meta tag; None: unreadable)."""
    try:
        with open(report, encoding="utf-8") as handle:
            head = handle.read(2048)
    except OSError:
        return None
    found = re.search(r'<meta name="generator" content="trialsynth ([^"]+)">', head)
    return found.group(1) if found else None


def aggregates_path(report: Path) -> Path:
    """Where the aggregates a report drew are kept, beside it (the secure side: sign-off copies
    the file, its public page and its card only), so that a later deploy re-renders the pages
    without reading a row (``rerender_reports``)."""
    return report.with_name(report.name.replace(".report.html", ".aggregates.json"))


def rerender_reports(record: dict[str, Any], *, public: bool = True) -> ReportFiles | None:
    """The pages of ``record``'s file rendered again by this code from the aggregates kept
    beside its report (None when there are none to read: nothing is rendered)."""
    if not record.get("output_path"):
        return None
    kept = aggregates_path(report_names(Path(record["output_path"]))[0])
    if not kept.is_file():
        return None
    return _write_pages(record, json.loads(kept.read_text()), public=public)


def write_reports(record: dict[str, Any], aggregates: dict[str, Any], *, public: bool = True) -> ReportFiles:
    """The three files beside the released file at ``record["output_path"]``, each written
    atomically, and the aggregates they drew (``aggregates_path``); without ``public`` (a
    comparison's file, never released) the secure report only."""
    report = report_names(Path(record["output_path"]))[0]
    write_atomically(json.dumps(aggregates, default=str), aggregates_path(report))
    return _write_pages(record, aggregates, public=public)


def _write_pages(record: dict[str, Any], aggregates: dict[str, Any], *, public: bool) -> ReportFiles:
    """The pages alone (``write_reports``; ``rerender_reports`` from the aggregates kept)."""
    report, public_page, card = report_names(Path(record["output_path"]))
    bundle = plotly_bundle(report.parent)
    write_atomically(render_report(record, aggregates, public_page.name, bundle), report)
    if public:
        write_atomically(render_public(record), public_page)
        write_atomically(render_card(record), card)
    return ReportFiles(report, public_page, card)


def _cleared_contrasts(
    contrasts: list[dict[str, Any]], record: dict[str, Any], min_cell: int
) -> list[dict[str, Any]]:
    """The contrasts with the real estimate and SE hidden where the arm, or the reference arm,
    has fewer than ``min_cell`` real pupils (an arm's estimate and the control mean would give
    that arm's mean outcome); the overlap and agreement (comparisons, not estimates) stay."""
    design = (record.get("cleaning") or {}).get("design") or {}
    arms = {str(a.get("arm")): a.get("rows", 0) for a in design.get("arms") or []}
    reference = str(design.get("reference_arm"))
    small = {arm for arm, rows in arms.items() if rows is not None and rows < min_cell}
    hidden = {"estimate": None, "se": None, "p": None, "suppressed": True}
    return [
        {**c, "real": hidden} if reference in small or str(c.get("arm")) in small else c for c in contrasts
    ]


def _metric_rows(metrics: dict[str, Any]) -> list[tuple[str, Any, str | None, str]]:
    studied = {
        STUDY_KEY.get(key, key): value for key, value in STUDY_TABLE5_CART.items() if STUDY_KEY.get(key, key)
    }
    rows = []
    for key in RECORD_METRIC_KEYS:
        reference = studied.get(key)
        rows.append(
            (
                key,
                metrics.get(key),
                band(key, metrics.get(key)),
                "" if reference is None else f"{reference:g}",
            )
        )
    return rows


def _disclosure(metrics: dict[str, Any]) -> list[tuple[str, Any, str]]:
    return [
        ("replicated_uniques", metrics.get("replicated_uniques"), GATE_RULE),
        (
            "exact_matches",
            metrics.get("exact_matches"),
            "reported (a copy of a non-unique record is not disclosive by itself)",
        ),
        (
            "sample_overlap",
            metrics.get("sample_overlap"),
            "share of real records found in the file; a fresh draw's share (next row) expected",
        ),
        (
            "sample_overlap_baseline",
            metrics.get("sample_overlap_baseline"),
            "half the real records found in the other half: near 1 on a narrow coded file",
        ),
        (
            "exact_match_excess",
            metrics.get("exact_match_excess"),
            "synthetic rows equal to real records beyond a fresh draw; near 0 expected",
        ),
        ("min_nn_distance", metrics.get("min_nn_distance"), "0 is a reproduced record (scaled distance)"),
        ("min_nn_distance_outliers", metrics.get("min_nn_distance_outliers"), "closeness to real outliers"),
        ("tcap", metrics.get("tcap"), "attribution probability for the key/target"),
        ("tcap_excess", metrics.get("tcap_excess"), "over the unlinked baseline; near 0 expected"),
    ]
