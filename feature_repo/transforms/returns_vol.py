"""Return and realized-volatility families. Inputs: a Panel and its log returns."""

from __future__ import annotations

import numpy as np
import pandas as pd

from feature_repo.transforms.config import FeatureConfig
from feature_repo.transforms.panel import Panel


def returns_family(p: Panel, r: pd.Series, c: FeatureConfig) -> dict[str, pd.Series]:
    m = c.mid
    return {
        "log_return": r,
        "abs_return": r.abs(),
        "ret_lag_1": p.shift(r, 1),
        "ret_lag_2": p.shift(r, 2),
        f"ret_mean_{m}": p.roll(r, m, "mean"),
        f"ret_skew_{m}": p.roll_grouped(r, m, "skew"),
        f"ret_kurt_{m}": p.roll_grouped(r, m, "kurt"),
    }


def realized_vol(p: Panel, r2: pd.Series, window: int) -> pd.Series:
    """Root mean squared log return over the trailing window (per bar)."""
    return np.sqrt(p.roll(r2, window, "mean"))


def volatility_family(p: Panel, r: pd.Series, c: FeatureConfig) -> dict[str, pd.Series]:
    s, lg = c.short, c.long
    r2 = r**2
    out = {f"rv_{w}": realized_vol(p, r2, w) for w in (s, c.medium, lg)}
    out[f"rv_ratio_{s}_{lg}"] = out[f"rv_{s}"] / out[f"rv_{lg}"]
    # RiskMetrics: sigma²_t = lambda sigma²_{t-1} + (1 - lambda) r²_t, started after `mid` bars
    out["ewma_vol"] = np.sqrt(p.ewm(r2, alpha=1 - c.ewma_lambda, adjust=False, min_periods=c.mid))
    day = c.day
    out["har_rv_d"] = r.abs() if day == 1 else realized_vol(p, r2, day)
    out["har_rv_w"] = realized_vol(p, r2, 7 * day)
    out["har_rv_m"] = realized_vol(p, r2, 30 * day)
    if c.intraday:
        out["realized_var_day"] = p.roll(r2, day, "sum", full=True)
    return out
