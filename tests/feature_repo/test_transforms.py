"""Features and targets: hand-computed values and the point-in-time rule (docs/concepts)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from feature_repo.transforms.config import FeatureConfig, catalog
from feature_repo.transforms.features import compute_features
from feature_repo.transforms.targets import compute_targets, regime
from tests.conftest import make_candles

CFG = FeatureConfig.for_bar("1d")
FEATURE_NAMES = list(catalog(CFG))
A, B = math.log(1.1), math.log(0.9)


def zigzag(n: int) -> list[float]:
    """Closes going x1.1, x0.9, x1.1 ... so the log returns alternate A, B."""
    closes = [100.0]
    for i in range(n - 1):
        closes.append(closes[-1] * (1.1 if i % 2 == 0 else 0.9))
    return closes


def test_realized_vol_matches_hand_computation():
    f = compute_features(make_candles(zigzag(8)), CFG).set_index("event_timestamp")
    assert math.isnan(f["log_return"].iloc[0])
    assert f["log_return"].iloc[1] == pytest.approx(A)
    assert f["log_return"].iloc[2] == pytest.approx(B)
    assert math.isnan(f["har_rv_w"].iloc[5])  # 5 returns < 80% of a 7-bar window
    assert f["har_rv_w"].iloc[6] == pytest.approx(math.sqrt((3 * A**2 + 3 * B**2) / 6))
    assert f["har_rv_w"].iloc[7] == pytest.approx(math.sqrt((4 * A**2 + 3 * B**2) / 7))


def test_range_estimators_and_liquidity_match_hand_computation():
    f = compute_features(make_candles(zigzag(30)), CFG)
    assert f["range_pct"].iloc[0] == pytest.approx(0.02)  # (1.01c - 0.99c) / c
    parkinson = math.log(1.01 / 0.99) / math.sqrt(4 * math.log(2))
    assert math.isnan(f["parkinson_30"].iloc[22])  # 23 bars < 24 needed
    assert f["parkinson_30"].iloc[23] == pytest.approx(parkinson)
    assert f["turnover"].iloc[0] == pytest.approx(0.1)  # 1000 / 10000
    assert f["log_volume_ratio_30"].isna().sum() == 23  # needs 24 of 30 bars
    assert f["log_volume_ratio_30"].iloc[23:].abs().max() == pytest.approx(0.0)  # flat volume


def test_target_is_realized_vol_of_the_next_h_returns():
    t = compute_targets(make_candles(zigzag(8)), "1d", horizon=3)
    assert t["target_rv"].iloc[0] == pytest.approx(math.sqrt((2 * A**2 + B**2) / 3))
    assert t["target_rv"].iloc[1] == pytest.approx(math.sqrt((A**2 + 2 * B**2) / 3))
    assert len(t) == 8 - 3  # the last 3 bars have no complete future
    assert t["target_log_rv"].iloc[0] == pytest.approx(math.log(t["target_rv"].iloc[0]))


def test_a_missing_bar_leaves_missing_values_instead_of_a_two_bar_return():
    candles = make_candles(zigzag(10)).drop(index=4)
    f = compute_features(candles, CFG).set_index("event_timestamp")
    after_gap = candles["ts"].iloc[4]  # the bar right after the missing one
    assert math.isnan(f.loc[after_gap, "log_return"])
    assert len(f) == 9  # rows only for bars that exist


def _perturb(candles: pd.DataFrame, mask: pd.Series, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    out = candles.copy()
    factor = rng.uniform(0.5, 2.0, size=int(mask.sum()))
    for col in ("open", "high", "low", "close", "quote_volume", "market_cap"):
        out.loc[mask, col] = out.loc[mask, col] * factor
    return out


@pytest.mark.parametrize("cut", ["2017-12-17", "2020-03-12", "2021-01-01"])
def test_features_at_t_ignore_every_bar_after_t(demo_candles, cut):
    candles = demo_candles[demo_candles["symbol"].isin(["BTC", "ETH", "DOGE"])]
    t = pd.Timestamp(cut, tz="UTC")
    base = compute_features(candles, CFG)
    changed = compute_features(_perturb(candles, candles["ts"] > t, seed=1), CFG)
    upto = base["event_timestamp"] <= t
    pd.testing.assert_frame_equal(base[upto], changed[upto])
    # ... and removing those bars altogether changes nothing either
    truncated = compute_features(candles[candles["ts"] <= t], CFG)
    pd.testing.assert_frame_equal(base[upto].reset_index(drop=True), truncated)
    assert not base[~upto][FEATURE_NAMES].equals(changed[~upto][FEATURE_NAMES])


@pytest.mark.parametrize("cut", ["2018-06-01", "2021-02-01"])
def test_target_at_t_uses_only_bars_t_to_t_plus_h(demo_candles, cut):
    h = 7
    candles = demo_candles[demo_candles["symbol"] == "BTC"]
    t = pd.Timestamp(cut, tz="UTC")
    end = t + pd.Timedelta(days=h)

    def target_at_t(frame):
        out = compute_targets(frame, "1d", h)
        return out.loc[out["event_timestamp"] == t, "target_rv"].item()

    base = target_at_t(candles)
    outside = (candles["ts"] < t) | (candles["ts"] > end)
    # pandas' rolling mean keeps a running sum, so older bars move the last digits (1e-17)
    assert target_at_t(_perturb(candles, outside, seed=2)) == pytest.approx(base, rel=1e-12)
    assert target_at_t(_perturb(candles, candles["ts"] == end, seed=3)) != base
    # features at t use returns ending <= t; the target uses returns ending in (t, t+H]
    feats = compute_features(_perturb(candles, candles["ts"] > t, seed=4), CFG)
    base_feats = compute_features(candles, CFG)
    at_t = feats["event_timestamp"] == t
    pd.testing.assert_frame_equal(feats[at_t], base_feats[at_t])


def test_regime_classes_from_thresholds_fitted_elsewhere():
    classes = regime(np.array([0.01, 0.02, 0.035, 0.05, np.nan]), thresholds=(0.02, 0.04))
    np.testing.assert_array_equal(classes[:4], [0, 1, 1, 2])  # a value on a cut goes up
    assert np.isnan(classes[4])
    with pytest.raises(ValueError, match="must increase"):
        regime(np.array([0.1]), thresholds=(0.04, 0.02))


def test_spike_flag_marks_a_future_vol_burst():
    calm = make_candles(zigzag(60))
    burst = calm.copy()
    burst.loc[40:45, "close"] = burst.loc[40:45, "close"] * np.array([2.0, 0.5, 2.5, 0.4, 2.0, 0.6])
    t = compute_targets(burst, "1d", horizon=3).set_index("event_timestamp")["target_spike"]
    stamp = burst["ts"]
    assert t[stamp.iloc[38]] == 1.0  # bars 39..41 include the burst
    assert t[stamp.iloc[36]] == 0.0  # bars 37..39: calm
    assert np.isnan(t[stamp.iloc[20]])  # too little history for the trailing median
