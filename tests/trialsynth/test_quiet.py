"""synthgauge's deprecations stay off the screen even while another thread has reset the
process-wide filters (scikit-learn's ``Parallel`` wrapper does, inside ``catch_warnings``): the
display drops them, whatever the filters say."""

import io

from trialsynth import quiet


def test_the_display_drops_synthgauge_deprecations_and_shows_the_rest():
    shown = io.StringIO()
    quiet._showwarning("inplace is deprecated", DeprecationWarning, "/venv/synthgauge/utils.py", 108, shown)
    assert shown.getvalue() == ""
    quiet._showwarning("inplace is deprecated", DeprecationWarning, "/venv/other/module.py", 108, shown)
    quiet._showwarning("a real problem", UserWarning, "/venv/synthgauge/utils.py", 9, shown)
    assert "other/module.py" in shown.getvalue() and "a real problem" in shown.getvalue()


def test_the_display_is_installed_when_trialsynth_is_imported():
    import subprocess
    import sys

    code = "import warnings, trialsynth.quiet as q; print(warnings.showwarning is q._showwarning)"
    assert (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "True"
    )
