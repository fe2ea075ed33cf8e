"""Combined metadata from several sources' released outputs (the paper's section 3.3).

Category proportions are averaged over the sources that release the variable,
p*_c = (1/K) sum_k p_kc, a category a source does not have counting as 0 there. Continuous
histograms are first put on a common grid (the union of every source's bin edges, each source's
bin mass spread over the finer bins by width), then averaged the same way. Every source's models
are kept with their source, so the EA fits all of them jointly.

Row count of the combined file: the sum of the sources' rows when they release the same
variables (different rows of one population, the paper's experiments 1-3), otherwise the
largest source (different variables of the same rows, experiment 4); ``n_rows`` overrides.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from trialsynth.errors import TrialDataError
from trialsynth.outputs.released import ReleasedOutputs, VariableOutput


def combine_outputs(outputs: Sequence[ReleasedOutputs], n_rows: int | None = None) -> ReleasedOutputs:
    if not outputs:
        raise TrialDataError("no released outputs to combine")
    if len(outputs) == 1 and n_rows is None:
        return outputs[0]
    names: list[str] = []
    for out in outputs:
        names += [n for n in out.names if n not in names]
    variables = []
    for name in names:
        present = [out.variable(name) for out in outputs if name in out.names]
        kinds = {v.kind for v in present}
        if len(kinds) > 1:
            raise TrialDataError(f"released outputs disagree on the kind of {name!r}: {sorted(kinds)}")
        combine = _combine_categorical if kinds == {"categorical"} else _combine_continuous
        variables.append(combine(present))
    same_variables = all(set(out.names) == set(outputs[0].names) for out in outputs)
    if n_rows is None:
        n_rows = sum(o.n_rows for o in outputs) if same_variables else max(o.n_rows for o in outputs)
    sources = tuple(s or f"source-{i + 1}" for i, out in enumerate(outputs) for s in (out.sources or ("",)))
    models = tuple(
        m if m.source else _with_source(m, f"source-{i + 1}")
        for i, out in enumerate(outputs)
        for m in out.models
    )
    if same_variables:
        sizes = sorted((s for o in outputs for s in o.cluster_sizes), reverse=True)
    else:
        sizes = list(max(outputs, key=lambda o: o.n_rows).cluster_sizes)
    cluster = next((o.cluster for o in outputs if o.cluster), None)
    return ReleasedOutputs(
        n_rows=int(n_rows),
        variables=tuple(variables),
        models=models,
        rules={**outputs[0].rules, "combined_sources": len(outputs)},
        log=tuple(line for o in outputs for line in o.log),
        sources=sources,
        cluster=cluster,
        cluster_sizes=tuple(sizes),
        columns=tuple(names) + ((cluster,) if cluster else ()),
    )


def _with_source(model, source: str):
    from dataclasses import replace

    return replace(model, source=source)


def _combine_categorical(present: list[VariableOutput]) -> VariableOutput:
    levels = sorted(
        {level for v in present for level in v.category_levels}, key=lambda x: (isinstance(x, str), x)
    )
    has_missing = any(v.has_missing for v in present)
    total = np.zeros(len(levels) + int(has_missing))
    for v in present:
        share = dict(zip(v.category_levels, v.proportions, strict=False))
        for i, level in enumerate(levels):
            total[i] += share.get(level, 0.0)
        if v.has_missing:
            total[-1] += v.proportions[-1]
    first = present[0]
    return VariableOutput(
        name=first.name,
        kind="categorical",
        proportions=tuple(float(p) for p in total / total.sum()),
        has_missing=has_missing,
        levels=tuple(levels),
        integer=all(v.integer for v in present),
    )


def _combine_continuous(present: list[VariableOutput]) -> VariableOutput:
    grid = np.unique(np.concatenate([np.asarray(v.edges) for v in present]))
    has_missing = any(v.has_missing for v in present)
    total = np.zeros(len(grid) - 1 + int(has_missing))
    for v in present:
        edges = np.asarray(v.edges)
        mass = np.asarray(v.proportions[: len(edges) - 1])
        for i, (low, high) in enumerate(zip(grid[:-1], grid[1:], strict=True)):
            j = np.searchsorted(edges, (low + high) / 2) - 1
            if 0 <= j < len(mass):
                total[i] += mass[j] * (high - low) / (edges[j + 1] - edges[j])
        if v.has_missing:
            total[-1] += v.proportions[-1]
    fills = [v.fill for v in present if v.fill is not None]
    first = present[0]
    return VariableOutput(
        name=first.name,
        kind="continuous",
        proportions=tuple(float(p) for p in total / total.sum()),
        has_missing=has_missing,
        edges=tuple(float(e) for e in grid),
        fill=float(np.mean(fills)) if fills else None,
        decimals=max(v.decimals for v in present),
        integer=all(v.integer for v in present),
    )
