"""SHAP explanations from the models' native contributions (no extra library): LightGBM's
``pred_contrib`` and CatBoost's ``ShapValues``; global importance = mean |SHAP| per feature."""

from __future__ import annotations

import catboost as cb
import numpy as np
import pandas as pd


def shap_values(model, frame: pd.DataFrame, features: list[str]) -> pd.DataFrame:
    """Per-row contributions to the predicted log vol (the expected value column dropped)."""
    x = frame[features]
    if isinstance(model, cb.CatBoost):
        values = model.get_feature_importance(cb.Pool(x), type="ShapValues")
    else:
        values = model.predict(x, pred_contrib=True)
    return pd.DataFrame(np.asarray(values)[:, : len(features)], columns=features, index=frame.index)


def global_importance(shap: pd.DataFrame) -> pd.Series:
    return shap.abs().mean().sort_values(ascending=False)
