"""The reports' charts, as plotly figures built from aggregates and catalogue records only."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
import plotly.io as pio

REAL, SYNTHETIC = "#1f4e79", "#e07b39"
LAYOUT = {"template": "plotly_white", "margin": {"l": 50, "r": 20, "t": 40, "b": 50}, "height": 300}


def to_div(figure: go.Figure, div_id: str) -> str:
    """The figure as a ``<div>`` and its script; plotly's JavaScript is inlined once per page."""
    return pio.to_html(
        figure, full_html=False, include_plotlyjs=False, div_id=div_id, config={"displaylogo": False}
    )


def distribution(column: dict[str, Any]) -> go.Figure:
    """Real and synthetic distribution of one column, as shares of all rows (missing included);
    a suppressed real bar (``aggregates.suppress``) is not drawn."""
    figure = go.Figure()
    if "histogram" in column:
        h = column["histogram"]
        edges = h["edges"]
        centres = [(a + b) / 2 for a, b in zip(edges[:-1], edges[1:], strict=True)]
        width = edges[1] - edges[0]
        for name, shares, colour in (("real", h["real"], REAL), ("synthetic", h["synthetic"], SYNTHETIC)):
            figure.add_bar(x=centres, y=shares, width=width, name=name, marker_color=colour, opacity=0.6)
        figure.update_layout(barmode="overlay")
    else:
        b = column["bars"]
        for name, shares, colour in (("real", b["real"], REAL), ("synthetic", b["synthetic"], SYNTHETIC)):
            figure.add_bar(x=b["levels"], y=shares, name=name, marker_color=colour)
        figure.update_layout(barmode="group")
    figure.update_layout(title=column["name"], yaxis_title="share of rows", **LAYOUT)
    return figure


def missingness(columns: list[dict[str, Any]]) -> go.Figure:
    names = [c["name"] for c in columns]
    figure = go.Figure()
    figure.add_bar(x=names, y=[c["missing"]["real"] for c in columns], name="real", marker_color=REAL)
    figure.add_bar(
        x=names, y=[c["missing"]["synthetic"] for c in columns], name="synthetic", marker_color=SYNTHETIC
    )
    figure.update_layout(
        title="missing share per column", barmode="group", yaxis_title="share missing", **LAYOUT
    )
    return figure


def correlations(correlation: dict[str, Any]) -> list[go.Figure]:
    """Real, synthetic and synthetic-minus-real Pearson correlations of the continuous columns."""
    names = correlation["columns"]
    figures = []
    for key, title, scale in (
        ("real", "real correlations", "RdBu"),
        ("synthetic", "synthetic correlations", "RdBu"),
        ("difference", "synthetic minus real", "PuOr"),
    ):
        figure = go.Figure(
            go.Heatmap(
                z=correlation[key], x=names, y=names, zmin=-1, zmax=1, colorscale=scale, reversescale=True
            )
        )
        figure.update_layout(title=title, **{**LAYOUT, "height": 420})
        figures.append(figure)
    return figures


def forest(contrasts: list[dict[str, Any]], z: float = 1.959964) -> go.Figure:
    """Each arm contrast of the trial's analysis: real and synthetic estimate with its 95% CI."""
    figure = go.Figure()
    for side, colour, offset in (("real", REAL, -0.12), ("synthetic", SYNTHETIC, 0.12)):
        xs, ys, errors, text = [], [], [], []
        for i, contrast in enumerate(contrasts):
            fit = contrast[side]
            if fit.get("estimate") is None or fit.get("se") is None:
                continue
            xs.append(fit["estimate"])
            ys.append(i + offset)
            errors.append(z * fit["se"])
            text.append(str(contrast["arm"]))
        figure.add_scatter(
            x=xs,
            y=ys,
            error_x={"type": "data", "array": errors},
            mode="markers",
            name=side,
            marker={"color": colour, "size": 10},
            text=text,
        )
    figure.add_vline(x=0, line_dash="dot", line_color="grey")
    figure.update_layout(
        title="treatment effect per contrast (95% CI)",
        yaxis={"tickvals": list(range(len(contrasts))), "ticktext": [str(c["arm"]) for c in contrasts]},
        xaxis_title="effect on the primary outcome",
        **{**LAYOUT, "height": 160 + 60 * len(contrasts)},
    )
    return figure


def timeline(rows: list[dict[str, Any]]) -> go.Figure:
    """Which trial ran when in a run, and how long (one bar per attempt)."""
    figure = go.Figure()
    for row in rows:
        figure.add_bar(
            base=[row["started_at"]],
            x=[row["duration_ms"]],
            y=[row["trial_id"]],
            orientation="h",
            name=row["status"],
            marker_color=STATUS_COLOURS.get(row["status"], "grey"),
            showlegend=False,
            hovertext=f"{row['trial_id']}: {row['status']}, {row['duration_ms'] / 1000:.1f} s",
        )
    figure.update_layout(
        title="run timeline", xaxis={"type": "date"}, **{**LAYOUT, "height": 160 + 24 * len(rows)}
    )
    return figure


def ledger(rows: list[dict[str, Any]], lifetime: float | None) -> go.Figure:
    """Epsilon charged per trial, summed over its private releases, against the trial's lifetime."""
    figure = go.Figure()
    figure.add_bar(
        x=[r["trial_id"] for r in rows],
        y=[r["epsilon"] for r in rows],
        name="epsilon spent",
        marker_color=REAL,
    )
    if lifetime:
        figure.add_hline(
            y=lifetime, line_dash="dash", line_color="firebrick", annotation_text="lifetime per trial"
        )
    figure.update_layout(title="epsilon ledger", yaxis_title="epsilon", **LAYOUT)
    return figure


STATUS_COLOURS = {"succeeded": "#2e7d32", "unchanged": "#78909c", "failed": "#c62828", "skipped": "#f9a825"}
