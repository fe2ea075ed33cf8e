"""A trial run through the engine once, with its catalogue, report and dashboard."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import NO_RISK_LIMITS, run_registered, write_archive
from trialsynth.catalogue import as_record, latest_attempts
from trialsynth.catalogue.session import make_engine, make_sessionmaker

BROWSERS = ("chromium", "chromium-browser", "google-chrome")


@pytest.fixture(scope="module")
def reported(tmp_path_factory, raw_trial):
    """A CART trial released with its report; returns (catalogue record, sessions, directory)."""
    directory = tmp_path_factory.mktemp("reported")
    sessions = make_sessionmaker(make_engine(f"sqlite:///{directory / 'catalogue.db'}"))
    # lifted: CART on a few hundred rows is over the default risk limits; this test needs
    # the file released to check something else
    manifest = write_archive(directory, {"mid": raw_trial}, risk_limits=NO_RISK_LIMITS)
    with pytest.MonkeyPatch.context() as patch:  # module scope: before the per-test home is set
        patch.setenv("TRIALSYNTH_HOME", str(directory / "home"))
        patch.delenv("TRIALSYNTH_CATALOGUE_URL", raising=False)
        outcome = run_registered(manifest, "mid", directory, sessions)
    assert outcome.status == "succeeded", outcome.error
    with sessions() as session:
        record = as_record(latest_attempts(session, ["mid"])[0])
    return record, sessions, directory


def browser() -> str | None:
    """Headless Chromium, when installed (``.ci/run`` installs Debian's ``chromium``)."""
    return next((shutil.which(name) for name in BROWSERS if shutil.which(name)), None)


def load(page: Path, budget_ms: int = 15000) -> tuple[str, list[str]]:
    """The page's DOM after its scripts ran, and every console message it logged."""
    return load_url(page.resolve().as_uri(), budget_ms)


def load_url(url: str, budget_ms: int = 15000) -> tuple[str, list[str]]:
    binary = browser()
    assert binary is not None
    done = subprocess.run(
        [
            binary,
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--enable-logging=stderr",
            "--v=0",
            f"--virtual-time-budget={budget_ms}",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    return done.stdout, console
