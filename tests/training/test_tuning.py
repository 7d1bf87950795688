"""Budgeted tuning: seeded, inside the fold's training window, within the search space."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from training.tuning import tune

FEATURES = ["x1", "x2"]


def frames():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x1": rng.normal(size=600), "x2": rng.normal(size=600)})
    frame["target_log_rv"] = -3 + 0.4 * frame["x1"] - 0.2 * frame["x2"] ** 2 + rng.normal(0, 0.1, 600)
    return frame.iloc[:450], frame.iloc[450:]


@pytest.mark.parametrize("kind", ["lightgbm", "catboost"])
def test_tuning_is_seeded_and_stays_in_its_space(kind):
    fit, valid = frames()
    first = tune(kind, fit, valid, FEATURES, trials=3, seed=1)
    assert first == tune(kind, fit, valid, FEATURES, trials=3, seed=1)
    if kind == "lightgbm":
        assert 15 <= first["num_leaves"] <= 127 and 0.01 <= first["learning_rate"] <= 0.1
    else:
        assert 4 <= first["depth"] <= 8 and 1.0 <= first["l2_leaf_reg"] <= 10.0
    assert tune(kind, fit, valid, FEATURES, trials=0) == {}
