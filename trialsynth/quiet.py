"""Process-wide warning filters for the libraries the metrics call, set when ``trialsynth`` is
imported - before any thread starts: ``warnings.catch_warnings()`` saves and restores the whole
filter list, so a filter added while another thread sat inside one would be undone when that
thread left it (the bare run printed synthgauge's Pandas4Warning in 2 runs of 4 when the filters
were set on the metrics' first, lazy, import)."""

from __future__ import annotations

import sys
import warnings
from typing import TextIO

# synthgauge warns for every numeric column it passes through its category encoder.
warnings.filterwarnings("ignore", message="Selected features include non-object types", category=UserWarning)
# scikit-learn's local outlier factor (synthgauge's outlier filter) warns on tied distances, which
# coded and narrow files always have; the filter is computed all the same.
warnings.filterwarnings("ignore", message="Duplicate values are leading to incorrect", category=UserWarning)
# synthgauge (archived) uses pandas idioms deprecated in pandas 3.1 - ``inplace=True`` on drop,
# drop_duplicates and rename, ``select_dtypes("object")`` for text - which warn (Pandas4Warning, a
# DeprecationWarning) on every call and still give the same results. Ignored from its modules only.
warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"synthgauge(\.|$)")


# The filter list is process-wide and not thread-safe: scikit-learn runs every nearest-neighbour
# search through its ``Parallel`` wrapper, which resets the filters inside ``catch_warnings`` for a
# moment, and a synthgauge call on the other evaluation thread then warns unfiltered (the bare
# run printed synthgauge's Pandas4Warning). The display itself is not swapped by
# ``catch_warnings`` (without ``record``), so synthgauge's deprecations are dropped there too.
def _showwarning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    if issubclass(category, DeprecationWarning) and "/synthgauge/" in filename.replace("\\", "/"):
        return
    out = sys.stderr if file is None else file
    try:  # as the default display writes it
        out.write(warnings.formatwarning(message, category, filename, lineno, line))
    except OSError:  # a closed stream: the warning is lost, as the default loses it
        pass


warnings.showwarning = _showwarning
