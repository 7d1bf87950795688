"""The forecasters: gradient-boosted trees on log realized vol, pooled across coins.

Both learn the log of the next-H realized vol *relative to the RiskMetrics EWMA vol at t*
(``ewma_vol``, when it is a feature): ``target_log_rv - log(ewma_vol)``. Pooled across coins whose
vol levels differ by 30x, a relative target lets the trees spend their splits on dynamics, not on
levels. The base must never collapse: last week's realized vol (``har_rv_w``, the first choice)
is ~0 for a stablecoin in a calm week, and the forecast then missed every de-peg (USDT QLIKE 1.6;
with the EWMA base 0.78). On the daily demo the EWMA base took LightGBM's walk-forward QLIKE from
0.762 to 0.672 (HAR: 0.718). A forecast is ``scale x ewma_vol x exp(prediction)`` (per-bar vol
over the next H bars; ``training.package.VolForecaster``), the smearing scale fitted on the
validation block (:func:`vol_scale`).
Without ``ewma_vol`` the target is absolute.
"""

from __future__ import annotations

import catboost as cb
import lightgbm as lgb
import numpy as np
import pandas as pd

from feature_repo.transforms.targets import TARGET
from training.profiles import DEFAULT, TrainingProfile

REGRESSORS = ("lightgbm", "catboost")  # the servable families (training.sequence adds "gru")
MODEL_FAMILIES = (*REGRESSORS, "gru")  # every family a walk-forward may evaluate


def models_in(frame) -> list[str]:
    """The model families that forecast in an out-of-fold table (its columns)."""
    return [m for m in MODEL_FAMILIES if m in frame.columns]
TARGET_BASE = "ewma_vol"


def base_column(features: list[str]) -> str | None:
    return TARGET_BASE if TARGET_BASE in features else None


def training_target(frame: pd.DataFrame, features: list[str]) -> pd.Series:
    """What the trees learn: log vol, relative to the base column when there is one."""
    base = base_column(features)
    if base is None:
        return frame[TARGET]
    return frame[TARGET] - np.log(frame[base].where(frame[base] > 0))


def _usable(frame: pd.DataFrame, features: list[str]) -> tuple[pd.DataFrame, pd.Series]:
    y = training_target(frame, features)
    ok = y.notna() & np.isfinite(y)
    return frame[ok], y[ok]


def regressor(kind: str, profile: TrainingProfile = DEFAULT, params: dict | None = None,
              rounds: int | None = None):
    """An unfitted regressor of ``kind`` with the profile's settings (``params`` on top;
    ``rounds``: a fixed number of trees, for a refit without early stopping)."""
    if kind == "lightgbm":
        extra = {"n_estimators": rounds} if rounds else {}
        return lgb.LGBMRegressor(**{**profile.lightgbm, **(params or {}), **extra})
    if kind == "catboost":
        extra = {"iterations": rounds} if rounds else {}
        return cb.CatBoostRegressor(**{**profile.catboost, **(params or {}), **extra})
    raise ValueError(f"unknown model family {kind!r}; use one of {REGRESSORS}")


def fit_regressor(kind: str, fit: pd.DataFrame, valid: pd.DataFrame, features: list[str],
                  params: dict | None = None, profile: TrainingProfile = DEFAULT):
    """Fit one model family on ``fit`` with early stopping on ``valid``."""
    (fit, y_fit), (valid, y_valid) = _usable(fit, features), _usable(valid, features)
    model = regressor(kind, profile, params)
    if kind == "lightgbm":
        model.fit(fit[features], y_fit, eval_X=(valid[features],), eval_y=(y_valid,),
                  callbacks=[lgb.early_stopping(profile.early_stopping_rounds, verbose=False)])
    else:
        model.fit(fit[features], y_fit, eval_set=(valid[features], y_valid),
                  early_stopping_rounds=profile.early_stopping_rounds)
    return model


def vol_scale(model, valid: pd.DataFrame, features: list[str]) -> float:
    """Smearing factor from held-out residuals: sqrt(mean(exp(2 x residual))).

    The trees predict the mean of log vol, i.e. roughly the median vol; QLIKE is minimised by
    sqrt(E[vol²]), which this factor restores (Duan's smearing applied to the variance).
    """
    valid, y = _usable(valid, features)
    resid = y.to_numpy() - np.asarray(model.predict(valid[features]), dtype=float)
    return float(np.sqrt(np.mean(np.exp(2 * resid))))


def best_iteration(model) -> int:
    if hasattr(model, "best_iteration") and not isinstance(model, lgb.LGBMRegressor):
        return int(model.best_iteration)  # training.sequence: epochs
    if isinstance(model, lgb.LGBMRegressor):
        return int(model.best_iteration_ or model.n_estimators)
    return int(model.get_best_iteration() or model.tree_count_)
