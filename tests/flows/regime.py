"""Simulated daily candles with a regime change, for the end-to-end loop test.

Calm history: each coin's daily vol is its own level times i.i.d. noise (nothing persistent to
learn beyond the level). Then, for half the coins, a new regime: vol three times higher and
persistent (log-vol AR(1), phi 0.97), the change a model trained on the calm years has never seen.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def simulate(coins: int = 10, calm_days: int = 600, regime_days: int = 120, factor: float = 3.0,
             seed: int = 7) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(history, new bars): canonical daily candles; the new bars hold the regime change."""
    rng = np.random.default_rng(seed)
    days = calm_days + regime_days
    level = rng.uniform(0.02, 0.05, coins)
    log_vol = np.log(level) + 0.3 * rng.standard_normal((days, coins))
    changed = np.arange(coins) % 2 == 0
    state = np.log(level * factor)
    for t in range(calm_days, days):
        state = np.log(level * factor) + 0.97 * (state - np.log(level * factor)) \
            + 0.15 * rng.standard_normal(coins)
        log_vol[t, changed] = state[changed]
    vol = np.exp(log_vol)
    returns = vol * rng.standard_t(5, (days, coins)) / np.sqrt(5 / 3)
    close = rng.uniform(1, 1000, coins) * np.exp(np.cumsum(returns, axis=0))
    open_ = np.vstack([close[:1], close[:-1]])
    wick = vol * np.abs(rng.normal(0.5, 0.2, (days, coins)))
    high = np.maximum(open_, close) * np.exp(wick)
    low = np.minimum(open_, close) * np.exp(-wick)
    volume = rng.uniform(1e5, 1e7, coins) * np.exp(rng.normal(0, 0.3, (days, coins))) * (1 + 20 * vol)
    names = ["BTC", *[f"C{i:02d}" for i in range(1, coins)]]
    ts = pd.date_range("2022-01-02", periods=days, freq="D", tz="UTC")
    frame = pd.DataFrame({
        "symbol": np.tile(names, days), "ts": np.repeat(ts, coins),
        "open": open_.ravel(), "high": high.ravel(), "low": low.ravel(), "close": close.ravel(),
        "volume": volume.ravel(), "quote_volume": (volume * close).ravel(),
        "market_cap": (close * rng.uniform(1e6, 1e8, coins)).ravel(), "source": "simulated",
    }).astype({"ts": "datetime64[us, UTC]"})
    cut = ts[calm_days]
    return frame[frame["ts"] < cut].reset_index(drop=True), frame[frame["ts"] >= cut].reset_index(drop=True)
