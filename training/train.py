"""Train the LightGBM volatility regressor on a point-in-time training frame.

The model learns the log of next-H-bar realized vol (per bar) from the feature service's
features, pooled across symbols. Early stopping uses the last part of the training window
(purged like the test block), never the test block. The persistence forecast (``rv_H`` of the
window ending at t, or the closest window) is scored on the same test rows for reference.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from datetime import timedelta

import lightgbm as lgb
import numpy as np
import pandas as pd

from feature_repo.transforms.targets import TARGET
from training.metrics import vol_metrics
from training.split import TimeSplit, holdout_split

log = logging.getLogger(__name__)

LGB_PARAMS = {
    "objective": "regression",
    "learning_rate": 0.03,
    "num_leaves": 31,
    "min_child_samples": 50,
    "subsample": 0.8,
    "subsample_freq": 1,
    "colsample_bytree": 0.8,
    "reg_lambda": 1.0,
    "n_estimators": 1000,
    "verbose": -1,
    "n_jobs": 2,
}
EARLY_STOPPING_ROUNDS = 50
VALID_FRACTION = 0.15


@dataclass
class TrainResult:
    model: lgb.LGBMRegressor
    features: list[str]
    split: TimeSplit
    metrics: dict[str, float]
    params: dict[str, object]
    reference: pd.DataFrame = field(repr=False)  # training-window features, for drift checks
    test_predictions: pd.DataFrame = field(repr=False)


def persistence_column(rv_windows: dict[str, int], horizon: int) -> str:
    """The trailing realized-vol feature whose window is closest to the horizon."""
    return min(rv_windows, key=lambda name: abs(rv_windows[name] - horizon))


def train_regressor(
    frame: pd.DataFrame, features: list[str], bar: timedelta, horizon: int, test_fraction: float,
    bars_per_year: float, rv_windows: dict[str, int],
) -> TrainResult:
    """Fit on the training window, early-stop on its purged tail, score on the test block."""
    frame = frame.sort_values(["event_timestamp", "symbol"], ignore_index=True)
    split = holdout_split(frame["event_timestamp"], test_fraction, bar, horizon)
    train_mask, test_mask = split.masks(frame["event_timestamp"])
    train, test = frame[train_mask], frame[test_mask]
    inner = holdout_split(train["event_timestamp"], VALID_FRACTION, bar, horizon)
    fit_mask, valid_mask = inner.masks(train["event_timestamp"])
    fit, valid = train[fit_mask], train[valid_mask]
    log.info("rows: fit %d, valid %d, test %d (test from %s)",
             len(fit), len(valid), len(test), split.test_start)

    model = lgb.LGBMRegressor(**LGB_PARAMS)
    model.fit(
        fit[features], fit[TARGET],
        eval_X=(valid[features],), eval_y=(valid[TARGET],),
        callbacks=[lgb.early_stopping(EARLY_STOPPING_ROUNDS, verbose=False)],
    )

    realized = test["target_rv"].to_numpy()
    forecast = np.exp(model.predict(test[features]))
    annualize = math.sqrt(bars_per_year)
    metrics = {f"test_{k}": v for k, v in vol_metrics(realized, forecast, annualize).items()}

    persist_col = persistence_column(rv_windows, horizon)
    scored = test[persist_col].notna().to_numpy() & (test[persist_col].to_numpy() > 0)
    base = vol_metrics(realized[scored], test[persist_col].to_numpy()[scored], annualize)
    metrics.update({f"test_persistence_{k}": v for k, v in base.items()})
    metrics["test_qlike_gain_vs_persistence"] = 1.0 - metrics["test_qlike"] / base["qlike"]
    metrics["best_iteration"] = float(model.best_iteration_ or LGB_PARAMS["n_estimators"])

    params = {**LGB_PARAMS, "bar": str(bar), "horizon": horizon, "target": TARGET,
              "train_end": str(split.train_end), "test_start": str(split.test_start),
              "rows_train": len(train), "rows_test": len(test), "persistence": persist_col}
    predictions = test[["symbol", "event_timestamp", "target_rv"]].assign(
        predicted_rv=forecast, persistence_rv=test[persist_col].to_numpy()
    )
    return TrainResult(model=model, features=list(features), split=split, metrics=metrics,
                       params=params, reference=train[["symbol", "event_timestamp", *features]],
                       test_predictions=predictions)
