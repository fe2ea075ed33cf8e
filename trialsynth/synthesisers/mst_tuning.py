"""Tuning MST's epsilon, budget allocation and iterations with optuna, without touching the trial.

Tuning on the real data would itself disclose: the chosen settings depend on the private rows,
and that choice is not covered by the epsilon of the final fit. So the search runs on a **public
surrogate**: a generated trial (``trialsynth.data.surrogate``) of the same shape, rows capped at ``max_rows``,
with the demo's public bounds. It reads only the trial's row and column counts (which the released
file shows anyway) and the policy cap. The reported epsilon is therefore the whole guarantee of
the release: (epsilon, delta)-DP, with the selection free of privacy cost.

Search space: epsilon log-uniform in [``epsilon_low``, policy cap] (the study tried 0.01-10; the
cap, default 1, bounds it); ``preserve`` "primary" or "all" (treatment x primary outcome, or x
every outcome, measured beside the tree); ``iterations`` in {500, 1000, 2000, 3000}.

Objective (lower is better), on the surrogate's Table 3 metrics that decide the ONS category:
each metric of the ``multivariate_detailed`` rule divided by its threshold (correlation MSD,
correlation-ratio MSD, the largest utility difference, feature-density MAD: each term is 1 at the
threshold), plus ``EPSILON_PRICE * epsilon``, plus 10 when a synthetic row sits on a real one
(minimum nearest-neighbour distance 0). ``EPSILON_PRICE`` (0.25 per unit of epsilon) is the
privacy side of the trade: more budget must buy at least that much fidelity. Seeded TPE and
seeded noise on the public surrogate, so the same shape, cap and seed choose the same settings.

Because the choice depends on nothing private, ``remembered_tuning`` keeps it in a directory
(``$TRIALSYNTH_HOME/mst-tuning``) keyed by those inputs, the code and the lineage's package versions:
a nightly regeneration of an unchanged trial reuses it instead of searching again (about 2 min
per large trial).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path

import numpy as np

EPSILON_PRICE = 0.25
MAX_SURROGATE_ROWS = 5_000
ITERATIONS = (500, 1000, 2000, 3000)
GUARANTEE = (
    "tuning spends no budget: settings were chosen on a public surrogate (a generated trial of the "
    "same shape); tuning read only the trial's row and column counts (public) and the policy cap"
)


@dataclass(frozen=True)
class TuningResult:
    epsilon: float
    preserve: str
    iterations: int
    objective: float
    surrogate: dict
    trials: list[dict] = field(default_factory=list)
    guarantee: str = GUARANTEE
    reused_from: str | None = None

    @property
    def params(self) -> dict:
        """The MST settings this choice sets."""
        return {"epsilon": self.epsilon, "preserve": self.preserve, "iterations": self.iterations}

    def record(self) -> dict:
        return asdict(self)


def objective_value(metrics: dict, epsilon: float) -> float:
    from trialsynth.evaluation.categories import RULES

    conditions = dict(RULES)["multivariate_detailed"]
    thresholds = {key: bound for key, op, bound in conditions if op == "<="}

    def scaled(key: str) -> float:
        value = metrics.get(key)
        return 0.0 if value is None or np.isnan(value) else abs(float(value)) / thresholds[key]

    utility = max(scaled(k) for k in ("precision_diff", "recall_diff", "f1_diff"))
    fidelity = scaled("corr_msd") + scaled("corr_ratio_msd") + utility + scaled("feature_density_mad")
    copies = 10.0 if (metrics.get("min_nn_distance") or 0.0) <= 0.0 else 0.0
    return float(fidelity + EPSILON_PRICE * epsilon + copies)


def _surrogate(n_rows: int, n_cols: int, seed: int, max_rows: int):
    """A generated trial of the shape, with its domain read off it (it is public)."""
    from dataclasses import replace

    from trialsynth.data.cleaning import clean
    from trialsynth.data.surrogate import TrialShape, demo_roles, make_trial, public_bounds
    from trialsynth.dp.domain import draft_domain
    from trialsynth.plan import Roles

    shape = TrialShape(min(n_rows, max_rows), max(n_cols, 14))
    frame = make_trial(shape, seed)
    data, meta = clean(frame, Roles.of(**demo_roles(frame)), trial_id="surrogate")
    meta = replace(meta, domain=draft_domain(data, meta.kinds, public_bounds(data.columns)))
    return (
        data,
        meta,
        {"rows": shape.n_rows, "cols": shape.n_cols, "seed": seed, "generator": "trialsynth.data.surrogate"},
    )


@cache
def tune_mst(
    method: type,
    n_rows: int,
    n_cols: int,
    *,
    epsilon_cap: float,
    seed: int,
    n_trials: int = 6,
    max_rows: int = MAX_SURROGATE_ROWS,
    epsilon_low: float = 0.01,
) -> TuningResult:
    """The settings the search picks for ``method`` (the MST class) on a trial of ``n_rows`` x
    ``n_cols`` (cached per process)."""
    import optuna

    from trialsynth.dp.noise import PublicNoise
    from trialsynth.evaluation.metrics.evaluate import evaluate

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    data, meta, surrogate = _surrogate(n_rows, n_cols, seed, max_rows)
    trials: list[dict] = []

    def run(trial: optuna.Trial) -> float:
        epsilon = trial.suggest_float("epsilon", min(epsilon_low, epsilon_cap), epsilon_cap, log=True)
        preserve = trial.suggest_categorical("preserve", ["primary", "all"])
        iterations = trial.suggest_categorical("iterations", list(ITERATIONS))
        synthesiser = method(epsilon=epsilon, preserve=preserve, iterations=iterations, random_state=seed)
        # the surrogate is public: its noise may be seeded, which makes the search repeatable
        noise, sampling = np.random.SeedSequence(seed).spawn(2)
        synthesiser.fit(data, meta, noise=PublicNoise(np.random.default_rng(noise)))
        synthetic = synthesiser.sample(len(data), np.random.default_rng(sampling))
        metrics = evaluate(data, synthetic, meta, seed)
        value = objective_value(metrics, epsilon)
        trials.append(
            {
                "epsilon": epsilon,
                "preserve": preserve,
                "iterations": iterations,
                "objective": value,
                "feature_density_mad": metrics.get("feature_density_mad"),
                "corr_msd": metrics.get("corr_msd"),
                "f1_diff": metrics.get("f1_diff"),
                "pmse_ratio": metrics.get("pmse_ratio"),
                "min_nn_distance": metrics.get("min_nn_distance"),
            }
        )
        logging.getLogger(__name__).info("tuning trial %d: %s", len(trials), trials[-1])
        return value

    study = optuna.create_study(direction="minimize", sampler=optuna.samplers.TPESampler(seed=seed))
    study.optimize(run, n_trials=n_trials)
    best = study.best_params
    return TuningResult(
        epsilon=float(best["epsilon"]),
        preserve=best["preserve"],
        iterations=int(best["iterations"]),
        objective=float(study.best_value),
        surrogate=surrogate,
        trials=trials,
    )


def remembered_tuning(
    method: type, n_rows: int, n_cols: int, *, epsilon_cap: float, seed: int, n_trials: int, store: Path
) -> TuningResult:
    """``tune_mst``'s result, kept in ``store`` and reused while every input of the search is the
    same (the surrogate's shape, cap, seed, number of trials, code and package versions)."""
    from trialsynth.versions import code_version, package_versions

    key = {
        "rows": min(n_rows, MAX_SURROGATE_ROWS),
        "cols": n_cols,
        "epsilon_cap": epsilon_cap,
        "seed": seed,
        "n_trials": n_trials,
        "code": code_version(),
        "packages": package_versions(),
    }
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:20]
    path = store / f"{digest}.json"
    if path.exists():
        try:
            stored = json.loads(path.read_text())
            stored.pop("key", None)
            return TuningResult(**{**stored, "reused_from": path.name})
        except (ValueError, TypeError):
            pass  # an unreadable entry is searched again and overwritten
    result = tune_mst(method, n_rows, n_cols, epsilon_cap=epsilon_cap, seed=seed, n_trials=n_trials)
    store.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
    partial.write_text(json.dumps({**result.record(), "key": key}))
    os.replace(partial, path)
    return result
