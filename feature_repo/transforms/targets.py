"""Forecast targets: a target stamped t uses only the H log returns after t, bars (t, t+H].

The return of bar t+1 is log(close[t+1] / close[t]): close[t] is known at t, so the target
and the features (returns ending at or before t) share no return.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cryptovol.bars import bar_delta, bars_per_year
from feature_repo.transforms.panel import Panel

TARGET = "target_log_rv"  # what the regressors learn
REGIMES = ("Low", "Medium", "High")
SPIKE_MULTIPLE = 2.0
SPIKE_WINDOW_HORIZONS = 12  # the spike reference: the trailing 12 x H bars


def spike_rule(horizon: int, spike_multiple: float = SPIKE_MULTIPLE) -> str:
    """The spike definition in words (logged with every model)."""
    return (f"next-{horizon}-bar realized vol > {spike_multiple:g} x the median of the {horizon}-bar "
            f"realized vols over the trailing {SPIKE_WINDOW_HORIZONS * horizon} bars")


def compute_targets(candles: pd.DataFrame, bar: str, horizon: int, spike_window: int | None = None,
                    spike_multiple: float = SPIKE_MULTIPLE) -> pd.DataFrame:
    """``symbol, event_timestamp, target_rv, target_rv_ann, target_log_rv, target_spike,
    spike_threshold`` (the per-bar vol above which the next H bars count as a spike).

    Rows only where all H future bars exist. ``target_spike`` is 1 when the next-H realized vol
    exceeds ``spike_multiple`` x the median of the H-bar realized vols observed up to t (over
    the trailing ``spike_window`` bars, default 12 x H).
    """
    spike_window = spike_window or SPIKE_WINDOW_HORIZONS * horizon
    p = Panel.build(candles, pd.Timedelta(bar_delta(bar)), pad=max(horizon, spike_window) + horizon)
    close = p.col("close")
    r2 = np.log(close / p.shift(close, 1)) ** 2
    trailing = np.sqrt(p.roll(r2, horizon, "mean", full=True))  # rv of bars (t-H, t]
    future = p.shift(trailing, -horizon)  # rv of bars (t, t+H]
    typical = p.roll(trailing, spike_window, "median")  # known at t
    out = pd.DataFrame({"symbol": p.col("symbol"), "event_timestamp": p.col("ts"),
                        "target_rv": future,
                        "target_spike": (future > spike_multiple * typical).astype(float)
                                        .where(typical.notna() & future.notna()),
                        "spike_threshold": spike_multiple * typical})
    out = p.observed(out)
    out = out[out["target_rv"].gt(0)].reset_index(drop=True)
    out["target_rv_ann"] = out["target_rv"] * np.sqrt(bars_per_year(bar))
    out["target_log_rv"] = np.log(out["target_rv"])
    return out[["symbol", "event_timestamp", "target_rv", "target_rv_ann", "target_log_rv",
                "target_spike", "spike_threshold"]]


def regime(rv: pd.Series | np.ndarray, thresholds: tuple[float, float]) -> np.ndarray:
    """Regime class 0/1/2 (Low/Medium/High) of realized vols, given two cut points.

    The cut points are fitted by the caller on training data only (e.g. the 1/3 and 2/3
    quantiles of the training targets) and travel with the model.
    """
    low, high = thresholds
    if not low < high:
        raise ValueError(f"regime thresholds must increase, got {thresholds}")
    values = np.asarray(rv, dtype=float)
    out = np.digitize(values, [low, high]).astype(float)
    out[np.isnan(values)] = np.nan
    return out
