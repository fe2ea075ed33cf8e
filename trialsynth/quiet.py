"""Process-wide warning filters for the libraries the metrics call, set when ``trialsynth`` is
imported - before any thread starts: ``warnings.catch_warnings()`` saves and restores the whole
filter list, so a filter added while another thread sat inside one would be undone when that
thread left it (the bare run printed synthgauge's Pandas4Warning in 2 runs of 4 when the filters
were set on the metrics' first, lazy, import)."""

from __future__ import annotations

import warnings

# synthgauge warns for every numeric column it passes through its category encoder.
warnings.filterwarnings("ignore", message="Selected features include non-object types", category=UserWarning)
# scikit-learn's local outlier factor (synthgauge's outlier filter) warns on tied distances, which
# coded and narrow files always have; the filter is computed all the same.
warnings.filterwarnings("ignore", message="Duplicate values are leading to incorrect", category=UserWarning)
# synthgauge (archived) uses pandas idioms deprecated in pandas 3.1 - ``inplace=True`` on drop,
# drop_duplicates and rename, ``select_dtypes("object")`` for text - which warn (Pandas4Warning, a
# DeprecationWarning) on every call and still give the same results. Ignored from its modules only.
warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"synthgauge(\.|$)")
