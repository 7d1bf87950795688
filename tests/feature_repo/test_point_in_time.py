"""Property tests of the time convention (docs/concepts/time-convention.md), on random multi-coin series.

- features stamped <= t do not change when bars after t are altered or removed;
- the target stamped t does not change when bars before t or after t+H are altered, and does
  change when a bar in (t, t+H] is.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feature_repo.transforms.config import FeatureConfig
from feature_repo.transforms.features import compute_features
from feature_repo.transforms.targets import compute_targets

# small windows so that short random series exercise every family, daily and intraday
CONFIGS = {
    "1d": FeatureConfig.for_bar("1d", short=3, medium=5, mid=6, long=10, atr=4, bollinger=5, rsi=4,
                                macd=(3, 6, 3)),
    "1h": FeatureConfig.for_bar("1h", short=3, medium=6, mid=8, long=16, day=4, atr=4, bollinger=5,
                                rsi=4, macd=(3, 6, 3)),
}


def random_candles(seed: int, bars: int, bar: str, symbols: int, drop: float) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frames = []
    for k, sym in enumerate(["BTC", "ETH", "SOL"][:symbols]):
        r = rng.standard_t(4, bars) * 0.02
        close = 100 * (k + 1) * np.exp(np.cumsum(r))
        open_ = np.r_[close[0], close[:-1]] * np.exp(rng.normal(0, 0.002, bars))
        high = np.maximum(open_, close) * np.exp(np.abs(rng.normal(0, 0.01, bars)))
        low = np.minimum(open_, close) * np.exp(-np.abs(rng.normal(0, 0.01, bars)))
        ts = pd.date_range("2024-01-01", periods=bars, freq=pd.Timedelta(bar), tz="UTC") + pd.Timedelta(bar)
        frame = pd.DataFrame({
            "symbol": sym, "ts": ts.astype("datetime64[us, UTC]"), "open": open_, "high": high,
            "low": low, "close": close, "volume": rng.uniform(1, 10, bars),
            "quote_volume": rng.uniform(1e6, 1e7, bars), "market_cap": close * 1e7 * (k + 1),
            "source": "test"})
        keep = rng.uniform(size=bars) >= drop  # random missing bars
        keep[0] = True
        frames.append(frame[keep])
    return pd.concat(frames, ignore_index=True)


def alter(candles: pd.DataFrame, mask: pd.Series, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    out = candles.copy()
    factor = rng.uniform(0.5, 2.0, int(mask.sum()))
    for col in ("open", "high", "low", "close", "volume", "quote_volume", "market_cap"):
        out.loc[mask, col] = out.loc[mask, col] * factor
    return out


series = st.fixed_dictionaries({
    "seed": st.integers(0, 10_000), "bars": st.integers(60, 160), "bar": st.sampled_from(["1d", "1h"]),
    "symbols": st.integers(1, 3), "drop": st.sampled_from([0.0, 0.05]),
    "cut": st.floats(0.2, 0.9), "change_seed": st.integers(0, 10_000),
})


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(series)
def test_features_up_to_t_ignore_altered_or_removed_later_bars(s):
    candles = random_candles(s["seed"], s["bars"], s["bar"], s["symbols"], s["drop"])
    config = CONFIGS[s["bar"]]
    t = candles["ts"].sort_values().iloc[int(s["cut"] * (len(candles) - 1))]
    base = compute_features(candles, config)
    upto = base["event_timestamp"] <= t
    altered = compute_features(alter(candles, candles["ts"] > t, s["change_seed"]), config)
    # rtol: pandas' rolling windows keep running sums along the stacked symbols, so other bars
    # can move the last digits (~1e-15 relative); they cannot carry information
    pd.testing.assert_frame_equal(base[upto], altered[upto], check_exact=False, rtol=1e-9)
    removed = compute_features(candles[candles["ts"] <= t], config)
    pd.testing.assert_frame_equal(base[upto].reset_index(drop=True), removed,
                                  check_exact=False, rtol=1e-9)


@settings(max_examples=30, deadline=None)
@given(series, st.integers(1, 12))
def test_target_at_t_uses_only_bars_t_to_t_plus_h(s, horizon):
    candles = random_candles(s["seed"], s["bars"], s["bar"], 1, 0.0)
    step = pd.Timedelta(s["bar"])
    stamps = candles["ts"]
    t = stamps.iloc[int(s["cut"] * (len(stamps) - horizon - 2))]
    end = t + horizon * step

    def target(frame):
        out = compute_targets(frame, s["bar"], horizon)
        return out.loc[out["event_timestamp"] == t, "target_rv"].item()

    base = target(candles)
    outside = (stamps < t) | (stamps > end)
    assert np.isclose(target(alter(candles, outside, s["change_seed"])), base, rtol=1e-9)
    assert not np.isclose(target(alter(candles, stamps == end, s["change_seed"])), base, rtol=1e-9)
