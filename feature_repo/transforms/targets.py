"""Forecast targets: a target stamped t uses only the H log returns after t, bars (t, t+H].

The return of bar t+1 is log(close[t+1] / close[t]): close[t] is known at t, so the target
and the features (returns ending at or before t) share no return.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd

from feature_repo.transforms.features import log_returns, on_grid


def compute_targets(candles: pd.DataFrame, bar: timedelta, horizon: int) -> pd.DataFrame:
    """``symbol, event_timestamp, target_rv, target_log_rv`` where all H future bars exist."""
    g = on_grid(candles, bar)
    r2 = log_returns(g) ** 2
    # mean of r^2 over bars t+1..t+H = trailing H-bar mean at t+H, shifted back H bars
    trailing = r2.groupby(g["symbol"]).rolling(horizon, min_periods=horizon).mean()
    trailing = trailing.reset_index(level=0, drop=True).sort_index()
    future = trailing.groupby(g["symbol"]).shift(-horizon)
    out = pd.DataFrame({"symbol": g["symbol"], "event_timestamp": g["ts"],
                        "target_rv": np.sqrt(future)})
    out = out[g["observed"].to_numpy() & out["target_rv"].gt(0).to_numpy()]
    out["target_log_rv"] = np.log(out["target_rv"])
    return out.reset_index(drop=True)
