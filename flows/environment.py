"""Prefect's environment and the task runner of a run, chosen once at the edge.

Importing this module does not import Prefect: ``configure_prefect`` must run before Prefect is
first imported (its settings are read at import).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

HOME_ENV = "TRIALSYNTH_HOME"


def home() -> Path:
    """Where the default catalogue, outputs, demo archive, caches and Prefect state live."""
    return Path(os.environ.get(HOME_ENV, ".trialsynth")).resolve()


def default_out_dir() -> Path:
    return home() / "output"


def configure_prefect(base: Path, *, log_level: str = "WARNING") -> None:
    """Settings for serverless (ephemeral) Prefect, applied before Prefect is imported.

    A project-local PREFECT_HOME, a start-up timeout that survives a loaded machine, no
    analytics. Values already set in the environment win (e.g. PREFECT_API_URL for a server).
    """
    defaults = {
        "PREFECT_HOME": str(base / "prefect"),
        "PREFECT_SERVER_EPHEMERAL_ENABLED": "true",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_LOGGING_LEVEL": log_level,
        "PREFECT_LOGGING_EXTRA_LOGGERS": "trialsynth",
    }
    for key, value in defaults.items():
        os.environ.setdefault(key, value)
    Path(os.environ["PREFECT_HOME"]).mkdir(parents=True, exist_ok=True)


NATIVE_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def share_cores(workers: int, cores: int | None = None) -> int:
    """Cap the native threads (BLAS, OpenMP, XLA) of worker processes started after this call so
    that ``workers`` trials at once do not oversubscribe the machine's cores. Returns the threads
    each worker gets. Variables the operator has set are left alone."""
    cores = cores or os.cpu_count() or 1
    threads = max(1, cores // max(workers, 1))
    for name in NATIVE_THREAD_VARIABLES:
        os.environ.setdefault(name, str(threads))
    if threads == 1 and "XLA_FLAGS" not in os.environ:
        os.environ["XLA_FLAGS"] = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
    return threads


def task_runner(
    workers: int, *, threads: bool = False, dask: bool = False, dask_address: str | None = None
) -> Any:
    """One worker: a thread. More: one process per worker (no shared interpreter lock, native
    threads capped so workers do not oversubscribe the cores), or threads of this process
    (``threads``), or a local Dask cluster of processes (``dask``), or an existing Dask scheduler."""
    if dask_address:
        from prefect_dask import DaskTaskRunner

        return DaskTaskRunner(address=dask_address)
    if dask:
        from prefect_dask import DaskTaskRunner

        share_cores(workers)
        cluster = {"n_workers": workers, "threads_per_worker": 1, "processes": True}
        return DaskTaskRunner(cluster_kwargs=cluster)
    if workers > 1 and not threads:
        from prefect.task_runners import ProcessPoolTaskRunner

        share_cores(workers)
        return ProcessPoolTaskRunner(max_workers=workers)
    from prefect.task_runners import ThreadPoolTaskRunner

    return ThreadPoolTaskRunner(max_workers=workers)
