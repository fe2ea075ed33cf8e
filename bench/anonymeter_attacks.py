"""Runs in an interpreter with anonymeter 1.1.0 (it pins numpy < 1.27, so never the main
environment): ``python bench/anonymeter_attacks.py DIR`` reads ``ori.parquet`` (training rows),
``control.parquet`` (held-out rows), ``syn.parquet`` and ``spec.json`` (secrets, seed) from DIR
and prints one JSON line: each risk as [value, low, high] from anonymeter's three evaluators
(multivariate singling out, 500 attacks of 3 columns; linkability on a random half split of the
columns; inference for each secret, the highest kept). Called by ``bench/attacks.py``.
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from anonymeter.evaluators import InferenceEvaluator, LinkabilityEvaluator, SinglingOutEvaluator


def interval(result) -> list[float]:
    risk = result.risk(confidence_level=0.95)
    return [float(risk.value), float(risk.ci[0]), float(risk.ci[1])]


def main() -> None:
    warnings.filterwarnings("ignore")
    folder = Path(sys.argv[1])
    ori = pd.read_parquet(folder / "ori.parquet")
    control = pd.read_parquet(folder / "control.parquet")
    syn = pd.read_parquet(folder / "syn.parquet")
    spec = json.loads((folder / "spec.json").read_text())
    n_attacks = min(1000, len(control))
    out = {}
    singling = SinglingOutEvaluator(ori=ori, syn=syn, control=control, n_attacks=500, n_cols=3)
    out["singling_out_risk"] = interval(singling.evaluate(mode="multivariate"))
    columns = list(syn.columns)
    order = np.random.default_rng(spec["seed"]).permutation(len(columns))
    aux = ([columns[i] for i in order[: len(columns) // 2]], [columns[i] for i in order[len(columns) // 2 :]])
    link = LinkabilityEvaluator(ori=ori, syn=syn, control=control, n_attacks=n_attacks, aux_cols=aux)
    out["linkability_risk"] = interval(link.evaluate(n_jobs=-1))
    best = None
    for secret in spec["secrets"]:
        aux_cols = [c for c in columns if c != secret and not c.startswith(f"{secret}__")]
        inference = InferenceEvaluator(
            ori=ori,
            syn=syn,
            control=control,
            aux_cols=aux_cols,
            secret=secret,
            n_attacks=n_attacks,
            regression=None,
        )
        found = interval(inference.evaluate(n_jobs=-1))
        if best is None or found[0] > best[0]:
            best = found
    out["inference_risk"] = best
    print(json.dumps(out))


if __name__ == "__main__":
    main()
