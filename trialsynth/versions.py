"""The code version stored with every attempt."""

from __future__ import annotations

import subprocess
from functools import cache
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
