"""The naive way, for comparison: one symbol at a time through ``groupby().apply``, each
windowed estimator a Python function passed to ``rolling().apply``. Same formulas and windows
as the platform's vectorized implementation (a subset of the families: the costly ones)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from feature_repo.transforms.config import FeatureConfig


def _rv(window: np.ndarray) -> float:
    return math.sqrt(np.nanmean(window**2))


def _one_symbol(g: pd.DataFrame, c: FeatureConfig) -> pd.DataFrame:
    g = g.set_index("ts").asfreq(pd.Timedelta(c.bar))
    r = np.log(g["close"] / g["close"].shift(1))
    m, mp = c.mid, math.ceil(0.8 * c.mid)
    hl2 = np.log(g["high"] / g["low"]) ** 2
    out = pd.DataFrame(index=g.index)
    out["log_return"] = r
    for w in (c.short, c.mid, c.long):
        out[f"rv_{w}"] = r.rolling(w, min_periods=math.ceil(0.8 * w)).apply(_rv, raw=True)
    out[f"ret_skew_{m}"] = r.rolling(m, min_periods=mp).apply(lambda x: pd.Series(x).skew(), raw=True)
    out[f"parkinson_{m}"] = hl2.rolling(m, min_periods=mp).apply(
        lambda x: math.sqrt(np.nanmean(x) / (4 * math.log(2))), raw=True)
    out[f"log_amihud_{m}"] = (r.abs() / (g["quote_volume"] / 1e6)).rolling(m, min_periods=mp).apply(
        lambda x: math.log(np.nanmean(x)), raw=True)
    out["ewma_vol"] = np.sqrt((r**2).ewm(alpha=1 - c.ewma_lambda, adjust=False, min_periods=m).mean())
    return out.reset_index()


def naive_features(candles: pd.DataFrame, c: FeatureConfig) -> pd.DataFrame:
    return candles.groupby("symbol").apply(lambda g: _one_symbol(g, c), include_groups=False)
