"""The report and the dashboard in headless Chromium: they load without a console message and
their charts are drawn. Without a browser these tests are skipped, unless
``TRIALSYNTH_REQUIRE_BROWSER`` is set (``.ci/run`` installs Chromium and sets it): then they fail."""

import os
from pathlib import Path

import pytest

from tests.trialsynth.reports.conftest import browser, load, load_url
from trialsynth.reports.dashboard import build_dashboard


@pytest.fixture(autouse=True)
def _needs_a_browser():
    if browser() is None:
        if os.environ.get("TRIALSYNTH_REQUIRE_BROWSER"):
            pytest.fail("no headless Chromium (chromium) on PATH, and TRIALSYNTH_REQUIRE_BROWSER is set")
        pytest.skip("no headless Chromium on PATH")


def test_the_trial_report_loads_cleanly_and_draws_every_chart(reported):
    record, _, _ = reported
    page = Path(record["report_path"])
    figures = page.read_text().count('class="plotly-graph-div"')
    dom, console = load(page)
    assert console == []
    assert figures >= 10 and dom.count("plot-container plotly") == figures
    assert dom.count('class="main-svg"') >= 2 * figures  # plotly draws two layers per chart


def test_the_dashboard_loads_cleanly_filters_and_draws(reported, tmp_path):
    record, sessions, _ = reported
    page = build_dashboard(sessions, tmp_path, run_id=record["run_id"])
    dom, console = load(page)
    assert console == []
    assert "1 of 1 trials shown" in dom  # the filter script ran
    assert dom.count("plot-container plotly") == 1  # the run timeline (no private release: no ledger)
    assert os.path.relpath(record["report_path"], tmp_path) in dom
    filtered, console = load_url(page.resolve().as_uri() + "?status=failed")
    assert console == [] and "0 of 1 trials shown" in filtered
    assert "1 of 1 trials shown" in load_url(page.resolve().as_uri() + "?method=cart")[0]


def test_a_page_with_a_script_error_is_caught(tmp_path):
    """The check above can fail: a console error is seen."""
    page = tmp_path / "bad.html"
    page.write_text('<html><body><script>console.error("broken"); missing();</script></body></html>')
    _, console = load(page, budget_ms=2000)
    assert any("broken" in line for line in console) and any("Uncaught" in line for line in console)
