"""The forecasters: gradient-boosted trees on log realized vol, pooled across coins.

Both learn ``target_log_rv`` and early-stop on the inner validation block of their fold; a
forecast is ``scale x exp(prediction)`` (per-bar vol over the next H bars), the scale fitted on
that validation block (:func:`vol_scale`).
"""

from __future__ import annotations

import catboost as cb
import lightgbm as lgb
import numpy as np
import pandas as pd

from feature_repo.transforms.targets import TARGET

LGB_PARAMS = {
    "objective": "regression", "learning_rate": 0.03, "num_leaves": 31, "min_child_samples": 50,
    "subsample": 0.8, "subsample_freq": 1, "colsample_bytree": 0.8, "reg_lambda": 1.0,
    "n_estimators": 1000, "verbose": -1, "n_jobs": 2,
}
CATBOOST_PARAMS = {
    "loss_function": "RMSE", "learning_rate": 0.05, "depth": 6, "iterations": 1000,
    "l2_leaf_reg": 3.0, "thread_count": 2, "verbose": False, "allow_writing_files": False,
}
EARLY_STOPPING_ROUNDS = 50
REGRESSORS = ("lightgbm", "catboost")


def fit_regressor(kind: str, fit: pd.DataFrame, valid: pd.DataFrame, features: list[str],
                  params: dict | None = None):
    """Fit one model family on ``fit`` with early stopping on ``valid``."""
    if kind == "lightgbm":
        model = lgb.LGBMRegressor(**{**LGB_PARAMS, **(params or {})})
        model.fit(fit[features], fit[TARGET], eval_X=(valid[features],), eval_y=(valid[TARGET],),
                  callbacks=[lgb.early_stopping(EARLY_STOPPING_ROUNDS, verbose=False)])
        return model
    if kind == "catboost":
        model = cb.CatBoostRegressor(**{**CATBOOST_PARAMS, **(params or {})})
        model.fit(fit[features], fit[TARGET], eval_set=(valid[features], valid[TARGET]),
                  early_stopping_rounds=EARLY_STOPPING_ROUNDS)
        return model
    raise ValueError(f"unknown model family {kind!r}; use one of {REGRESSORS}")


def vol_scale(model, valid: pd.DataFrame, features: list[str]) -> float:
    """Smearing factor from held-out residuals: sqrt(mean(exp(2 x residual))).

    The trees predict the mean of log vol, i.e. roughly the median vol; QLIKE is minimised by
    sqrt(E[vol²]), which this factor restores (Duan's smearing applied to the variance).
    """
    resid = valid[TARGET].to_numpy() - np.asarray(model.predict(valid[features]), dtype=float)
    return float(np.sqrt(np.mean(np.exp(2 * resid))))


def predict_vol(model, frame: pd.DataFrame, features: list[str], scale: float = 1.0) -> np.ndarray:
    """Per-bar vol forecast: exp of the predicted log vol, times the smearing factor."""
    return scale * np.exp(np.asarray(model.predict(frame[features]), dtype=float))


def best_iteration(model) -> int:
    if isinstance(model, lgb.LGBMRegressor):
        return int(model.best_iteration_ or model.n_estimators)
    return int(model.get_best_iteration() or model.tree_count_)
