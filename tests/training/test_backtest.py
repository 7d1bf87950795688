"""Volatility-targeting backtest on hand-checkable series."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from training.backtest import BacktestConfig, backtest, max_drawdown, sharpe_with_ci, strategy_returns


def test_positions_are_capped_and_fees_charged_on_turnover():
    cfg = BacktestConfig(target_vol=0.5, leverage_cap=2.0, fee=0.01)
    r = np.log(np.array([1.10, 0.95, 1.02]))
    net, position = strategy_returns(r, np.array([1.0, 0.1, 0.5]), cfg)
    np.testing.assert_allclose(position, [0.5, 2.0, 1.0])  # 0.5/0.1 = 5 -> capped at 2
    np.testing.assert_allclose(net, [0.5 * 0.10 - 0.01 * 0.5, 2.0 * -0.05 - 0.01 * 1.5,
                                     1.0 * 0.02 - 0.01 * 1.0])
    bh, _ = strategy_returns(r, None, cfg)
    np.testing.assert_allclose(bh, [0.10 - 0.01, -0.05, 0.02])  # one entry fee, then held


def test_drawdown_and_sharpe():
    assert max_drawdown(np.array([0.1, -0.5, 0.2])) == pytest.approx(-0.5)
    r = np.array([0.01, 0.02, -0.01, 0.03])
    s = sharpe_with_ci(r, bars_per_year=365)
    per_bar = r.mean() / r.std(ddof=1)
    assert s["sharpe"] == pytest.approx(per_bar * math.sqrt(365))
    half = 1.96 * math.sqrt((1 + 0.5 * per_bar**2) / 4) * math.sqrt(365)
    assert (s["sharpe_high"] - s["sharpe_low"]) == pytest.approx(2 * half)


def test_targeting_tracks_the_target_better_than_buy_and_hold():
    rng = np.random.default_rng(0)
    n = 2000
    vol = np.where(np.arange(n) % 400 < 200, 0.01, 0.05)  # calm and wild regimes, per bar
    ts = pd.date_range("2020-01-01", periods=n, freq="D", tz="UTC")
    oof = pd.DataFrame({"symbol": "AAA", "event_timestamp": ts, "perfect": vol})
    nxt = pd.DataFrame({"symbol": "AAA", "event_timestamp": ts,
                        "next_return": rng.normal(0, 1, n) * vol})
    cfg = BacktestConfig(fee=0.0, leverage_cap=5.0)  # the calm regime needs 2.6x: no cap here
    result = backtest(oof, nxt, ["perfect"], bars_per_year=365, cfg=cfg)
    s = result["summary"]
    assert s["perfect"]["tracking_error"] < 0.1 < s["buy_and_hold"]["tracking_error"]
    assert s["perfect"]["vol_of_vol"] < s["buy_and_hold"]["vol_of_vol"]
    assert result["curves"]["perfect"].index[0] == ts[0]
