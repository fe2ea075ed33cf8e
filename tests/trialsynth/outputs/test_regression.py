"""The analysis models: the IRLS fit is the logistic MLE; a missing term is the reference level."""

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from trialsynth.outputs import ModelOutput, VariableOutput
from trialsynth.outputs.regression import design_matrix, fit_logistic, refit


def test_irls_matches_scikit_learns_unpenalised_fit():
    rng = np.random.default_rng(0)
    x = np.hstack([np.ones((3000, 1)), rng.normal(size=(3000, 3))])
    y = (rng.random(3000) < 1 / (1 + np.exp(-(x @ [0.2, 1.0, -0.5, 0.0])))).astype(float)
    beta, converged = fit_logistic(x, y)
    reference = LogisticRegression(C=np.inf, fit_intercept=False, tol=1e-10, max_iter=1000).fit(x, y)
    assert converged and np.allclose(beta, reference.coef_[0], atol=1e-5)


def test_design_matrix_dummies_values_and_missing_indicator():
    group = VariableOutput("g", "categorical", (0.5, 0.3, 0.2), levels=("a", "b", "c"))
    score = VariableOutput(
        "s", "continuous", (0.5, 0.4, 0.1), has_missing=True, edges=(0.0, 5.0, 10.0), fill=4.0
    )
    frame = pd.DataFrame({"g": ["a", "c", "b"], "s": [1.5, np.nan, 9.0]})
    x = design_matrix(frame, [group, score])
    assert x.tolist() == [[1, 0, 0, 1.5, 0], [1, 0, 1, 4.0, 1], [1, 1, 0, 9.0, 0]]


def test_a_level_the_model_never_saw_counts_as_its_reference():
    group = VariableOutput("g", "categorical", (0.4, 0.4, 0.2), levels=("a", "b", "c"))
    outcome = VariableOutput("y", "continuous", (1.0,), edges=(0.0, 100.0), fill=1.0, decimals=1)
    frame = pd.DataFrame({"g": ["a", "b", "c", "a", "b", "c"], "y": [1.0, 3.0, 1.0, 1.0, 3.0, 1.0]})
    model = ModelOutput("y", "linear", ("g",), ("(Intercept)", "g_b"), (1.0, 2.0), 6)
    assert np.allclose(refit(frame, model, {"g": group, "y": outcome}), [1.0, 2.0])
