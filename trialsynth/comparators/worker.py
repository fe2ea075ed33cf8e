"""The program that runs inside the comparator environment (synthcity, hyperimpute, torch).

It imports nothing of trialsynth: the main environment starts it as
``<env>/bin/python -I worker.py JOB_DIR`` (``client.run_job``). ``JOB_DIR/job.json`` says what to
do; the answer is ``JOB_DIR/result.json`` (``{"status": "ok" | "error", ...}``) and, for some
tasks, a Parquet file or a model file beside it. Tasks:

- ``fit``: ``train.parquet`` (numbers only; NaN where a value is missing) -> ``model.bin``. Missing
  values are first imputed (``impute``: ``hyperimpute``) for a generator that cannot take them;
  what was imputed is in the result.
- ``sample``: ``model.bin`` -> ``synthetic.parquet`` with ``n`` rows.
- ``impute``: ``train.parquet`` -> ``imputed.parquet`` (hyperimpute as a cleaning strategy).
- ``versions``: the versions of the packages that matter (the environment's check).

Nothing read from the data is printed: errors name their type and message only.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any

DP_PLUGINS = ("dpgan", "pategan", "aim")
ENCODED = ("dpgan", "ctgan")
SAMPLING_PATIENCE, SAMPLING_CALLS = 20, 10  # generators that take a fitted encoder (``encoder=``)


def _versions() -> dict[str, str]:
    from importlib.metadata import version

    names = ("synthcity", "hyperimpute", "torch", "opacus", "numpy", "pandas")
    return {name: version(name) for name in names}


def _seed(seed: int) -> None:
    from synthcity.utils.reproducibility import enable_reproducible_results

    enable_reproducible_results(seed)


def _impute(frame: Any, how: str, seed: int) -> tuple[Any, dict[str, Any]]:
    """NaNs filled by ``how`` (``hyperimpute``: iterative, a model chosen per column)."""
    columns = [c for c in frame.columns if frame[c].isna().any()]
    record: dict[str, Any] = {"imputer": how, "columns": columns, "cells": int(frame.isna().sum().sum())}
    if not columns:
        return frame, {**record, "imputer": None, "seconds": 0.0}
    if how != "hyperimpute":
        raise ValueError(f"the training frame has missing values and imputation is {how!r}")
    from hyperimpute.plugins.imputers import Imputers

    start = time.perf_counter()
    imputer = Imputers().get("hyperimpute", random_state=seed)
    filled = imputer.fit_transform(frame.copy())
    filled.columns = frame.columns
    filled.index = frame.index
    record["seconds"] = round(time.perf_counter() - start, 3)
    return filled, record


def _for_sampling(plugin: Any) -> None:
    """Drop what only training needs before the model is saved: the discriminators (opacus keeps
    the last batch's inputs - encoded real rows - on their layers, and per-sample gradients: a
    1.3 GB file for a 500-unit DP-GAN), gradients, optimizers (opacus's DP optimizer cannot be
    unpickled) and opacus's per-sample-gradient wrappers. Sampling needs the generator and the
    encoder only."""
    import torch

    inner = getattr(plugin, "model", None)
    roots = [inner, getattr(inner, "model", None)]  # PATE-GAN keeps its TabularGAN one level down
    for model in [r for r in roots if isinstance(r, torch.nn.Module)]:
        _strip(model, torch)


def _strip(model: Any, torch: Any) -> None:
    for module in list(model.modules()):
        if module._modules.get("discriminator") is not None:
            module._modules["discriminator"] = None
    for parameter in model.parameters():  # opacus keeps a batch of per-sample gradients on each
        parameter.grad = None
        for name in ("grad_sample", "_current_grad_sample", "summed_grad"):
            if hasattr(parameter, name):
                setattr(parameter, name, None)
    for module in list(model.modules()):
        for key, value in list(vars(module).items()):
            if isinstance(value, torch.optim.Optimizer):
                setattr(module, key, None)
        for name, child in list(module._modules.items()):
            if type(child).__name__ == "GradSampleModule":
                module._modules[name] = child._module


def _fit(job: dict[str, Any], where: Path) -> dict[str, Any]:
    import pandas as pd
    from synthcity.plugins import Plugins
    from synthcity.plugins.core.dataloader import GenericDataLoader
    from synthcity.utils.serialization import save_to_file

    frame = pd.read_parquet(where / "train.parquet")
    (where / "train.parquet").unlink()  # the real rows stay on disk no longer than it takes to read them
    seed = int(job["seed"])
    _seed(seed)
    frame, imputation = _impute(frame, job.get("impute", "hyperimpute"), seed)
    params = dict(job.get("params", {}))
    if job["plugin"] == "dpgan" and params.get("delta") is None:
        params["delta"] = 1 / len(frame)  # synthcity's own default, stated rather than implied
    discrete = [c for c in job.get("discrete", []) if c in frame.columns]
    if discrete and job["plugin"] in ENCODED:
        # categories as categories: synthcity's own rule (at most 10 distinct values) would model a
        # school's or a many-level category's codes as a continuous mixture
        from synthcity.plugins.core.models.tabular_encoder import TabularEncoder

        clusters = int(params.get("encoder_max_clusters", 5))
        params["encoder"] = TabularEncoder(max_clusters=clusters).fit(frame, discrete_columns=discrete)
    plugin = Plugins().get(job["plugin"], random_state=seed, workspace=where / "workspace", **params)
    if getattr(plugin, "patience_metric", None) is not None:
        # no patience checks: they score a fifth of the real rows, held out of training, with a
        # detection model every n_iter_print epochs and keep the best epoch (outside DP-SGD)
        plugin.patience_metric = None
    start = time.perf_counter()
    plugin.fit(GenericDataLoader(frame, random_state=seed))
    seconds = round(time.perf_counter() - start, 3)
    _for_sampling(plugin)
    save_to_file(where / "model.bin", plugin)
    result: dict[str, Any] = {"imputation": imputation, "fit_s": seconds}
    if job["plugin"] in DP_PLUGINS:
        defaults = {"aim": 1e-9, "pategan": None}  # PATE-GAN: its own 1 / (n sqrt n), not recorded
        delta = params.get("delta", defaults.get(job["plugin"]))
        result["dp"] = {"epsilon": params.get("epsilon", 1.0), "delta": delta, "accountant": _accountant(job)}
    return result


def _accountant(job: dict[str, Any]) -> str:
    return {
        "dpgan": "opacus RDP accountant, noise calibrated to reach the target epsilon after n_iter "
        "epochs; batches are drawn without Poisson sampling, which the accountant assumes",
        "pategan": "PATE moments accountant (synthcity), the teachers' votes noised; rounds stop "
        "once the target is passed, and the student discriminator also sees encoded real rows",
        "aim": "zCDP (synthcity's AIM), converted to (epsilon, delta)",
    }[job["plugin"]]


def _sample(job: dict[str, Any], where: Path) -> dict[str, Any]:
    from synthcity.utils.serialization import load_from_file

    seed = int(job["seed"])
    _seed(seed)
    import pandas as pd

    plugin = load_from_file(where / "model.bin")
    # not strict: synthcity would keep only rows within the training schema and draw again, up to
    # ``sampling_patience`` (500) times - minutes, or no rows at all for a model that seldom
    # manages it. The engine sends codes 0..k-1 for every few-valued column (which synthcity then
    # leaves alone) and rounds them to real levels; the release gate checks the rows
    plugin.strict = False
    plugin.sampling_patience = SAMPLING_PATIENCE
    n, parts, start = int(job["n"]), [], time.perf_counter()
    for call in range(SAMPLING_CALLS):
        drawn = plugin.generate(count=n, random_state=seed + call).dataframe()
        parts.append(drawn)
        if sum(len(p) for p in parts) >= n:
            break
    synthetic = pd.concat(parts, ignore_index=True).head(n)
    if len(synthetic) < n:
        raise RuntimeError(
            f"the generator drew {len(synthetic)} of {n} rows within the training schema "
            f"in {SAMPLING_CALLS} x {SAMPLING_PATIENCE} attempts"
        )
    synthetic.reset_index(drop=True).to_parquet(where / "synthetic.parquet")
    return {"sample_s": round(time.perf_counter() - start, 3), "rows": len(synthetic), "calls": call + 1}


def _impute_task(job: dict[str, Any], where: Path) -> dict[str, Any]:
    import pandas as pd

    frame = pd.read_parquet(where / "train.parquet")
    (where / "train.parquet").unlink()
    filled, record = _impute(frame, "hyperimpute", int(job["seed"]))
    filled.to_parquet(where / "imputed.parquet")
    return {"imputation": record}


def _check(job: dict[str, Any], where: Path) -> dict[str, Any]:
    """The environment's import check: the generators and the imputer load."""
    from hyperimpute.plugins.imputers import Imputers
    from synthcity.plugins import Plugins

    generators = Plugins().list()
    missing = [name for name in ("dpgan", "pategan", "ctgan", "aim") if name not in generators]
    if missing or "hyperimpute" not in Imputers().list():
        raise RuntimeError(f"synthcity lacks {missing} or hyperimpute's imputer is missing")
    return {}


TASKS = {"fit": _fit, "sample": _sample, "impute": _impute_task, "versions": _check}


def _leave_with_parent(where: Path) -> None:
    """Remove the job directory (it holds real rows) and stop if the engine's process dies."""
    import shutil
    import threading

    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != parent:
                shutil.rmtree(where, ignore_errors=True)
                os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def _lift_address_space_limit() -> None:
    """First of all: a trial's memory limit (``trialsynth.run.isolation``: an address-space
    limit, soft) would stop torch, which maps far more than it uses; the worker is held to its
    resident memory instead (the engine's ``Limits.memory_mb``). Done here rather than between
    fork and exec in the engine, where Python code can deadlock a threaded parent (JAX)."""
    import resource

    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (hard, hard))


def main(where: Path) -> int:
    _lift_address_space_limit()
    started = time.perf_counter()
    _leave_with_parent(where)
    try:
        job = json.loads((where / "job.json").read_text())
        threads = job.get("threads")
        if threads:
            import torch

            torch.set_num_threads(int(threads))
        result = {"status": "ok", **TASKS[job["task"]](job, where), "versions": _versions()}
    except Exception as exc:  # noqa: BLE001 - every failure is answered in result.json
        frames = traceback.extract_tb(exc.__traceback__)
        where_failed = [f"{Path(f.filename).name}:{f.lineno}" for f in frames[-3:]]
        # a library's message may quote its input (pydantic shows the first rows of a frame): only
        # this program's own messages, which never hold data, are passed on
        own = bool(frames) and Path(frames[-1].filename).name == Path(__file__).name
        error = (
            f"{type(exc).__name__}: {exc}" if own else f"{type(exc).__name__} (at {', '.join(where_failed)})"
        )
        result = {"status": "error", "error": error, "at": where_failed}
    result["seconds"] = round(time.perf_counter() - started, 3)
    (where / "result.json.tmp").write_text(json.dumps(result))
    os.replace(where / "result.json.tmp", where / "result.json")
    return 0 if result["status"] == "ok" else 1


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
