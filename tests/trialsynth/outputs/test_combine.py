"""Combined metadata across sources (the paper's section 3.3)."""

import numpy as np
import pytest

from trialsynth.errors import TrialDataError
from trialsynth.outputs import ModelOutput, ReleasedOutputs, VariableOutput, combine_outputs


def _source(n, proportions, levels=("a", "b"), edges=(0.0, 5.0, 10.0), hist=(0.5, 0.5), name="s", extra=()):
    variables = (
        VariableOutput("cat", "categorical", proportions, levels=levels),
        VariableOutput("num", "continuous", hist, edges=edges, fill=5.0, decimals=1),
        *extra,
    )
    model = ModelOutput("cat", "logistic", ("num",), ("(Intercept)", "num"), (0.1, 0.2), n, event=levels[1])
    return ReleasedOutputs(n_rows=n, variables=variables, models=(model,), sources=(name,))


def test_category_proportions_are_averaged_and_absent_levels_count_zero():
    combined = combine_outputs(
        [_source(100, (0.2, 0.8)), _source(300, (0.6, 0.3, 0.1), levels=("a", "b", "c"))]
    )
    cat = combined.variable("cat")
    assert cat.levels == ("a", "b", "c")
    assert np.allclose(cat.proportions, [0.4, 0.55, 0.05])


def test_histograms_are_put_on_a_common_grid_before_averaging():
    a = _source(100, (0.5, 0.5), edges=(0.0, 10.0), hist=(1.0,))
    b = _source(100, (0.5, 0.5), edges=(0.0, 5.0, 10.0), hist=(0.2, 0.8))
    num = combine_outputs([a, b]).variable("num")
    assert num.edges == (0.0, 5.0, 10.0)
    assert np.allclose(num.proportions, [(0.5 + 0.2) / 2, (0.5 + 0.8) / 2])


def test_rows_add_up_for_a_row_split_and_take_the_largest_for_a_column_split():
    same = combine_outputs([_source(100, (0.5, 0.5), name="A"), _source(300, (0.5, 0.5), name="B")])
    assert same.n_rows == 400 and same.sources == ("A", "B")
    assert [m.source for m in same.models] == ["source-1", "source-2"]
    other = VariableOutput("age", "continuous", (1.0,), edges=(0.0, 90.0), fill=40.0)
    split = combine_outputs([_source(100, (0.5, 0.5)), _source(100, (0.5, 0.5), extra=(other,))])
    assert split.n_rows == 100 and "age" in split.names
    assert combine_outputs([_source(10, (0.5, 0.5))] * 2, n_rows=55).n_rows == 55


def test_kinds_must_agree():
    a = _source(100, (0.5, 0.5))
    clash = VariableOutput("num", "categorical", (1.0,), levels=(1,))
    b = ReleasedOutputs(n_rows=10, variables=(a.variables[0], clash), models=())
    with pytest.raises(TrialDataError, match="disagree on the kind of 'num'"):
        combine_outputs([a, b])
