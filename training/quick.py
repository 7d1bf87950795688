"""A light retrain for replays: one LightGBM fit with a purged holdout, then a refit on every row.

The full ``train`` (walk-forward over 4 folds, two families, SHAP, reports, MLflow) takes minutes;
a replay retrains dozens of times. This trainer keeps what the decision needs: the same target
(log vol relative to the EWMA vol), the same features, and a holdout of the most recent bar
closes whose targets are known, purged of the H bars before it so that no training target
overlaps it. A probe fitted on the rows before the purge (early stopping on their last fifth)
forecasts the holdout — the challenger's out-of-sample forecasts the gate compares with the
champion and HAR; the smearing scale is fitted on the probe's validation block; the model kept
is refitted on every known row with the probe's number of trees.
"""

from __future__ import annotations

from dataclasses import dataclass

import lightgbm as lgb
import numpy as np
import pandas as pd

from training.models import base_column, training_target
from training.package import VolForecaster
from training.profiles import REFERENCE

LGB_PARAMS = REFERENCE.lightgbm  # the replay's figures were measured with these


@dataclass(frozen=True)
class QuickModel:
    model: lgb.LGBMRegressor
    features: list[str]
    scale: float
    trained_until: pd.Timestamp  # the newest bar close whose features it saw

    def predict(self, rows: pd.DataFrame) -> np.ndarray:
        return VolForecaster(self.model, self.features, self.scale,
                             base_column(self.features)).predict(rows)["vol"].to_numpy()


@dataclass(frozen=True)
class QuickFit:
    model: QuickModel
    holdout: pd.DataFrame  # symbol, event_timestamp, target_rv, challenger (its OOS forecast)


def _xy(rows: pd.DataFrame, features: list[str]) -> tuple[pd.DataFrame, pd.Series]:
    y = training_target(rows, features)
    ok = np.isfinite(y.to_numpy())
    return rows.loc[ok, features], y[ok]


def train_quick(known: pd.DataFrame, features: list[str], horizon_bars: pd.Timedelta,
                holdout: pd.Timedelta, trained_until: pd.Timestamp) -> QuickFit:
    """``known``: rows whose target is known at the clock (features + ``target_log_rv``,
    ``target_rv``). Holdout: the last ``holdout`` of them; fit: the rows before it minus the
    horizon (purge); early stopping on the fit rows' last fifth."""
    known = known.sort_values("event_timestamp")
    end = known["event_timestamp"].max()
    cut = end - holdout
    test = known[known["event_timestamp"] > cut]
    fit = known[known["event_timestamp"] <= cut - horizon_bars]
    if len(fit) < 500 or len(test) < 50:
        raise ValueError(f"too little data to retrain ({len(fit)} fit rows, {len(test)} holdout rows)")
    valid_from = fit["event_timestamp"].quantile(0.8)
    early = fit["event_timestamp"] <= valid_from
    x, y = _xy(fit[early], features)
    vx, vy = _xy(fit[~early], features)
    probe = lgb.LGBMRegressor(**LGB_PARAMS).fit(
        x, y, eval_X=(vx,), eval_y=(vy,),
        callbacks=[lgb.early_stopping(REFERENCE.early_stopping_rounds, verbose=False)])
    rounds = max(int(probe.best_iteration_ or LGB_PARAMS["n_estimators"]), 10)
    # the smearing scale on the validation block (a year or more), as the full training does:
    # fitted on the 60-day holdout it followed that holdout's luck
    resid = vy.to_numpy() - probe.predict(vx)
    scale = float(np.sqrt(np.mean(np.exp(2 * resid))))
    out = test[["symbol", "event_timestamp", "target_rv"]].copy()
    out["challenger"] = VolForecaster(probe, features, scale, base_column(features)).predict(
        test)["vol"].to_numpy()
    params = {**LGB_PARAMS, "n_estimators": rounds}
    final = lgb.LGBMRegressor(**params).fit(*_xy(known, features))
    return QuickFit(QuickModel(final, features, scale, trained_until), out)
