"""Point-in-time features: a value stamped t uses only bars whose close is <= t.

Pure functions on canonical candles (see ``feature_repo.loaders.candles``). Each symbol's
bars are first put on a regular grid so that rolling windows count bars, not rows, and a
missing bar leaves missing values instead of a return that silently spans two bars.
"""

from __future__ import annotations

import math
from datetime import timedelta

import numpy as np
import pandas as pd

from feature_repo.transforms.catalog import (
    FEATURE_NAMES,
    PARKINSON_WINDOW,
    RV_WINDOWS,
    VOLUME_WINDOW,
)

PARKINSON_SCALE = 1.0 / (4.0 * math.log(2.0))


def on_grid(candles: pd.DataFrame, bar: timedelta) -> pd.DataFrame:
    """Each symbol's candles reindexed to every bar between its first and last; adds ``observed``."""
    step = pd.Timedelta(bar)
    firsts = candles.groupby("symbol")["ts"].agg(["min", "max"])
    counts = ((firsts["max"] - firsts["min"]) // step + 1).astype(int)
    symbols = np.repeat(firsts.index.to_numpy(), counts.to_numpy())
    offsets = np.concatenate([np.arange(n) for n in counts.to_numpy()]) * step
    starts = np.repeat(firsts["min"].dt.tz_convert(None).to_numpy(), counts.to_numpy())
    grid = pd.DataFrame({"symbol": symbols, "ts": pd.DatetimeIndex(starts + offsets).tz_localize("UTC")})
    out = grid.merge(candles, on=["symbol", "ts"], how="left", indicator="observed")
    out["observed"] = out["observed"].eq("both")
    return out


def _rolling(values: pd.Series, keys: pd.Series, window: int, how: str = "mean") -> pd.Series:
    """Per-symbol trailing window over bars; needs 80% of the window observed."""
    min_periods = max(2, math.ceil(0.8 * window))
    rolled = getattr(values.groupby(keys).rolling(window, min_periods=min_periods), how)()
    return rolled.reset_index(level=0, drop=True).sort_index()


def log_returns(grid: pd.DataFrame) -> pd.Series:
    """Log close-to-close return per bar (missing when either bar is missing)."""
    return np.log(grid["close"] / grid.groupby("symbol")["close"].shift(1))


def compute_features(candles: pd.DataFrame, bar: timedelta) -> pd.DataFrame:
    """Feature table: ``symbol, event_timestamp`` + FEATURE_NAMES, one row per observed bar."""
    g = on_grid(candles, bar)
    keys = g["symbol"]
    r = log_returns(g)
    out = pd.DataFrame({"symbol": keys, "event_timestamp": g["ts"], "log_return": r})
    for w in RV_WINDOWS:
        out[f"rv_{w}"] = np.sqrt(_rolling(r**2, keys, w))
    hl2 = np.log(g["high"] / g["low"]) ** 2
    out[f"parkinson_vol_{PARKINSON_WINDOW}"] = np.sqrt(
        PARKINSON_SCALE * _rolling(hl2, keys, PARKINSON_WINDOW)
    )
    out["range_pct"] = (g["high"] - g["low"]) / g["close"]
    out["turnover"] = g["quote_volume"] / g["market_cap"]
    mean_volume = _rolling(g["quote_volume"], keys, VOLUME_WINDOW)
    out[f"log_volume_ratio_{VOLUME_WINDOW}"] = np.log(g["quote_volume"] / mean_volume)
    out = out[g["observed"].to_numpy()].reset_index(drop=True)
    out[FEATURE_NAMES] = out[FEATURE_NAMES].astype("float64").replace([np.inf, -np.inf], np.nan)
    return out[["symbol", "event_timestamp", *FEATURE_NAMES]]
