"""Where the comparator environment lives, whether it is ready, and how it is built.

The environment is ``$TRIALSYNTH_HOME/envs/comparators`` (``TRIALSYNTH_COMPARATORS_ENV`` names
another place). It is built from ``requirements.txt`` beside this module - every package pinned,
installed with ``--no-deps``, so the list is the whole environment and pip has nothing to
resolve - and stamped with that file's SHA-256 (``READY_FILE``) only once the install and an
import check succeeded. A stamp that does not match the file means the pins changed: the
environment is stale and ``create`` builds it again. Building takes a few minutes and about 9 GB
(torch with its CUDA libraries, TensorFlow, which synthcity's dependencies bring).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

NAME = "comparators"
REQUIREMENTS = Path(__file__).with_name("requirements.txt")
READY_FILE = "trialsynth-ready.json"
ENV_VARIABLE = "TRIALSYNTH_COMPARATORS_ENV"
HOME_VARIABLE = "TRIALSYNTH_HOME"


def requirements_sha256() -> str:
    return hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()


def location(home: Path | None = None) -> Path:
    """The environment's directory: ``TRIALSYNTH_COMPARATORS_ENV``, else ``<home>/envs/comparators``
    (home: the argument, else ``$TRIALSYNTH_HOME``, else ``.trialsynth``)."""
    if home is None and os.environ.get(ENV_VARIABLE):
        return Path(os.environ[ENV_VARIABLE]).resolve()
    base = home if home is not None else Path(os.environ.get(HOME_VARIABLE, ".trialsynth"))
    return (base / "envs" / NAME).resolve()


def python_of(env: Path) -> Path:
    return env / "bin" / "python"


@dataclass(frozen=True)
class Status:
    path: Path
    ready: bool
    reason: str  # why it is not ready ("" when it is)
    versions: dict[str, str]

    @property
    def python(self) -> Path:
        return python_of(self.path)


def status(env: Path | None = None) -> Status:
    """Whether the environment at ``env`` (default: ``location()``) is built from today's pins."""
    env = env or location()
    stamp = env / READY_FILE
    if not python_of(env).exists() or not stamp.exists():
        reason = f"no comparator environment at {env}: run `trialsynth env create {NAME}`"
        return Status(env, False, reason, {})
    recorded = json.loads(stamp.read_text())
    if recorded.get("requirements_sha256") != requirements_sha256():
        return Status(
            env,
            False,
            f"the comparator environment at {env} was built from other pins: run "
            f"`trialsynth env create {NAME}` to rebuild it",
            recorded.get("versions", {}),
        )
    return Status(env, True, "", recorded.get("versions", {}))


def create(
    env: Path | None = None,
    *,
    python: str | None = None,
    rebuild: bool = False,
    say: Callable[[str], None] = print,
) -> Status:
    """Build the environment (a venv, then every pinned package) unless it is ready already.

    A failed install leaves no stamp, so the environment is never taken for ready; the next
    ``create`` starts again from an empty directory."""
    env = env or location()
    current = status(env)
    if current.ready and not rebuild:
        say(f"the comparator environment is ready at {env} (built from today's pins)")
        return current
    if env.exists():
        say(f"removing {env} ({current.reason or 'rebuild asked for'})")
        shutil.rmtree(env)
    env.parent.mkdir(parents=True, exist_ok=True)
    interpreter = python or _python311()
    say(f"creating a virtual environment at {env} with {interpreter}")
    _run([interpreter, "-m", "venv", str(env)])
    pip = [str(python_of(env)), "-m", "pip", "--disable-pip-version-check"]
    _run([*pip, "install", "--quiet", "--upgrade", "pip"])
    say(f"installing {_count(REQUIREMENTS)} pinned packages from {REQUIREMENTS.name} (a few minutes)")
    total, seen = _count(REQUIREMENTS), [0]

    def progress(line: str) -> None:
        if line.startswith("Collecting "):
            seen[0] += 1
            if seen[0] % 25 == 0 or seen[0] == total:
                say(f"  {seen[0]}/{total} packages fetched")
        elif line.startswith("Installing collected packages"):
            say("  installing")

    _run([*pip, "install", "--no-deps", "--progress-bar", "off", "-r", str(REQUIREMENTS)], progress)
    say("checking that synthcity and hyperimpute import")
    from trialsynth.comparators.client import versions_in

    versions = versions_in(env)
    stamp = {"requirements_sha256": requirements_sha256(), "versions": versions}
    (env / READY_FILE).write_text(json.dumps(stamp, indent=2))
    say("ready: " + ", ".join(f"{k} {v}" for k, v in versions.items()))
    return status(env)


def _python311() -> str:
    if sys.version_info[:2] == (3, 11):
        return sys.executable
    found = shutil.which("python3.11")
    if not found:
        raise RuntimeError("the comparator environment needs Python 3.11 (python3.11 was not found)")
    return found


def _count(requirements: Path) -> int:
    lines = requirements.read_text().splitlines()
    return sum(1 for line in lines if line.strip() and not line.startswith("#"))


def _run(command: list[str], on_line: Callable[[str], None] | None = None) -> None:
    """Run ``command``, passing each line it prints to ``on_line``; raise with the last lines
    when it fails."""
    lines: list[str] = []
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
    ) as process:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line.rstrip())
            if on_line is not None:
                on_line(line)
    if process.returncode != 0:
        tail = "\n".join(lines[-15:])
        shown = " ".join(command[:4])
        raise RuntimeError(f"`{shown} ...` failed with exit code {process.returncode}:\n{tail}")
