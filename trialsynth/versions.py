"""The code and package versions stored with every attempt (lineage)."""

from __future__ import annotations

import subprocess
from functools import cache
from importlib import metadata
from pathlib import Path

from trialsynth import __version__


@cache
def code_version() -> str:
    """``<package version>+<git commit>`` when run from a checkout, else the package version."""
    root = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short=12", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return __version__
    return f"{__version__}+{commit}" if commit else __version__


LINEAGE_PACKAGES = (
    "numpy",
    "pandas",
    "scikit-learn",
    "scipy",
    "synthgauge",
    "synthpop-py",
    "mbi",
    "jax",
    "optuna",
    "sqlalchemy",
    "prefect",
)


@cache
def package_versions() -> dict[str, str | None]:
    """Versions of the packages that shape a synthetic file, stored with every attempt."""
    versions: dict[str, str | None] = {}
    for name in LINEAGE_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions
