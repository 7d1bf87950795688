"""SHAP contributions add up to the prediction, and the important feature comes first."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from training.explain import global_importance, shap_values
from training.models import fit_regressor

FEATURES = ["signal", "noise"]


@pytest.mark.parametrize("kind", ["lightgbm", "catboost"])
def test_contributions_explain_the_prediction(kind):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"signal": rng.normal(size=800), "noise": rng.normal(size=800)})
    frame["target_log_rv"] = -3 + 0.5 * frame["signal"] + rng.normal(0, 0.05, 800)
    model = fit_regressor(kind, frame.iloc[:600], frame.iloc[600:], FEATURES)
    shap = shap_values(model, frame.iloc[600:], FEATURES)
    prediction = np.asarray(model.predict(frame.iloc[600:][FEATURES]))
    # contributions + a constant expected value = the prediction
    offset = prediction - shap.sum(axis=1).to_numpy()
    assert np.ptp(offset) == pytest.approx(0, abs=1e-6)
    assert global_importance(shap).index[0] == "signal"
