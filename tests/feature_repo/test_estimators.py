"""Every estimator against a value computed by hand (or by an independent library) on a tiny
example: two coins, four daily bars, windows of three bars."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from feature_repo.transforms.config import FeatureConfig
from feature_repo.transforms.features import compute_features

CFG = FeatureConfig.for_bar("1d", short=2, medium=3, mid=3, long=4, atr=3, bollinger=3, rsi=3,
                            macd=(2, 3, 2))
OHLC = {  # (open, high, low, close) of four daily bars
    "BTC": [(100, 110, 95, 105), (105, 112, 100, 108), (108, 115, 104, 110), (110, 111, 101, 102)],
    "ETH": [(10, 11, 9.5, 10.5), (10.4, 11, 10, 10.8), (10.8, 12, 10.6, 11.9), (11.9, 12, 11, 11.2)],
}
QV = {"BTC": [1e6, 2e6, 3e6, 4e6], "ETH": [5e5, 5e5, 1e6, 2e6]}
CAP = {"BTC": [1000.0, 1100.0, 1200.0, 1100.0], "ETH": [500.0, 600.0, 700.0, 1300.0]}
TS = pd.date_range("2024-01-02", periods=4, freq="D", tz="UTC")  # closes of Mon 1 .. Thu 4 Jan


def candles() -> pd.DataFrame:
    rows = []
    for sym, bars in OHLC.items():
        for i, (o, h, lo, c) in enumerate(bars):
            rows.append({"symbol": sym, "ts": TS[i], "open": o, "high": h, "low": lo, "close": c,
                         "volume": 1.0, "quote_volume": QV[sym][i], "market_cap": CAP[sym][i],
                         "source": "test"})
    return pd.DataFrame(rows).astype({"ts": "datetime64[us, UTC]"})


@pytest.fixture(scope="module")
def feats() -> dict[str, pd.DataFrame]:
    f = compute_features(candles(), CFG)
    return {s: g.set_index("event_timestamp") for s, g in f.groupby("symbol")}


def col(sym: str, k: int) -> np.ndarray:
    return np.array([bar[k] for bar in OHLC[sym]], dtype=float)


def last(feats, sym: str, name: str) -> float:
    return float(feats[sym][name].iloc[-1])


def test_range_estimators(feats):
    o, h, lo, c = (col("BTC", k)[1:] for k in range(4))  # the 3-bar window ending at bar 3
    gk = np.mean(0.5 * np.log(h / lo) ** 2 - (2 * math.log(2) - 1) * np.log(c / o) ** 2)
    rs = np.mean(np.log(h / c) * np.log(h / o) + np.log(lo / c) * np.log(lo / o))
    assert last(feats, "BTC", "garman_klass_3") == pytest.approx(math.sqrt(gk))
    assert last(feats, "BTC", "rogers_satchell_3") == pytest.approx(math.sqrt(rs))
    # Yang-Zhang: overnight returns are 0 here (each open = previous close)
    k = 0.34 / (1.34 + (3 + 1) / (3 - 1))
    yz = k * np.var(np.log(c / o), ddof=1) + (1 - k) * rs
    assert last(feats, "BTC", "yang_zhang_3") == pytest.approx(math.sqrt(yz))
    assert last(feats, "BTC", "parkinson_3") == pytest.approx(math.sqrt(np.mean(np.log(h / lo) ** 2)
                                                                       / (4 * math.log(2))))
    # true ranges 12, 11, 10 (all high - low here); ATR / close
    assert last(feats, "BTC", "atr_3") == pytest.approx(11 / 102)
    closes = col("BTC", 3)[1:]
    assert last(feats, "BTC", "bollinger_width_3") == pytest.approx(4 * closes.std(ddof=1) / closes.mean())


def test_rsi_and_macd(feats):
    # close changes +3, +2, -8; Wilder smoothing alpha 1/3 from the first change:
    # gains 3 -> 8/3 -> 16/9; losses 0 -> 0 -> 8/3; RSI = 100 - 100 / (1 + (16/9) / (8/3)) = 40
    assert last(feats, "BTC", "rsi_3") == pytest.approx(40.0)

    def ema(values, span):
        a, out = 2 / (span + 1), [values[0]]
        for v in values[1:]:
            out.append(a * v + (1 - a) * out[-1])
        return np.array(out)

    close = col("BTC", 3)
    line = ema(close, 2) - ema(close, 3)
    signal = ema(line[2:], 2)  # the MACD line exists from bar 2 (slow EMA needs 3 closes)
    assert last(feats, "BTC", "macd") == pytest.approx(line[-1] / close[-1])
    assert last(feats, "BTC", "macd_signal") == pytest.approx(signal[-1] / close[-1])
    assert last(feats, "BTC", "macd_hist") == pytest.approx((line[-1] - signal[-1]) / close[-1])


def test_return_moments_and_vols(feats):
    r = np.diff(np.log(col("BTC", 3)))  # bars 1..3
    assert last(feats, "BTC", "ret_skew_3") == pytest.approx(stats.skew(r, bias=False))
    assert last(feats, "BTC", "rv_3") == pytest.approx(math.sqrt(np.mean(r**2)))
    assert last(feats, "BTC", "har_rv_d") == pytest.approx(abs(r[-1]))
    assert last(feats, "BTC", "ret_lag_2") == pytest.approx(r[0])
    # RiskMetrics: s2 = r1², then s2 = 0.94 s2 + 0.06 r²
    s2 = r[0] ** 2
    for x in r[1:]:
        s2 = 0.94 * s2 + 0.06 * x**2
    assert last(feats, "BTC", "ewma_vol") == pytest.approx(math.sqrt(s2))
    assert math.isnan(last(feats, "BTC", "ret_kurt_3"))  # kurtosis needs 4 returns, there are 3


def test_liquidity(feats):
    r = np.diff(np.log(col("BTC", 3)))
    qv = np.array(QV["BTC"][1:])
    assert last(feats, "BTC", "log_amihud_3") == pytest.approx(math.log(np.mean(np.abs(r) / (qv / 1e6))))
    assert last(feats, "BTC", "turnover") == pytest.approx(4e6 / 1100)
    assert last(feats, "BTC", "log_volume_ratio_3") == pytest.approx(math.log(4e6 / 3e6))

    def cs(h0, l0, h1, l1):
        beta = math.log(h1 / l1) ** 2 + math.log(h0 / l0) ** 2
        gamma = math.log(max(h0, h1) / min(l0, l1)) ** 2
        d = 3 - 2 * math.sqrt(2)
        alpha = (math.sqrt(2 * beta) - math.sqrt(beta)) / d - math.sqrt(gamma / d)
        return max(0.0, 2 * (math.exp(alpha) - 1) / (1 + math.exp(alpha)))

    h, lo = col("BTC", 1), col("BTC", 2)
    spreads = [cs(h[i - 1], lo[i - 1], h[i], lo[i]) for i in (1, 2, 3)]
    assert last(feats, "BTC", "corwin_schultz_3") == pytest.approx(np.mean(spreads))


def test_cross_section(feats):
    rb, re = np.diff(np.log(col("BTC", 3))), np.diff(np.log(col("ETH", 3)))
    # market at bar 3: weights are the caps at bar 2 (1200, 700)
    market3 = (1200 * rb[-1] + 700 * re[-1]) / 1900
    assert last(feats, "ETH", "market_return") == pytest.approx(market3)
    cov = np.cov(re, rb, bias=True)
    assert last(feats, "ETH", "beta_btc_3") == pytest.approx(cov[0, 1] / cov[1, 1])
    assert last(feats, "ETH", "corr_btc_3") == pytest.approx(np.corrcoef(re, rb)[0, 1])
    assert last(feats, "BTC", "corr_btc_3") == pytest.approx(1.0)
    market = np.array([(CAP["BTC"][i - 1] * rb[i - 1] + CAP["ETH"][i - 1] * re[i - 1])
                       / (CAP["BTC"][i - 1] + CAP["ETH"][i - 1]) for i in (1, 2, 3)])
    expected = math.sqrt(np.mean(re**2)) - math.sqrt(np.mean(market**2))
    assert last(feats, "ETH", "vol_minus_market_3") == pytest.approx(expected)
    # caps at bar 3: ETH 1300 > BTC 1100
    assert (last(feats, "ETH", "mcap_rank"), last(feats, "BTC", "mcap_rank")) == (1.0, 2.0)


def test_calendar(feats):
    first = feats["BTC"].iloc[0]  # closes 2024-01-02 00:00: the bar of Monday 1 January
    assert (first["dow_sin"], first["dow_cos"]) == pytest.approx((0.0, 1.0))


def test_intraday_only_features():
    cfg = FeatureConfig.for_bar("1h", short=2, medium=3, mid=3, long=4, day=2, atr=3, bollinger=3,
                                rsi=3, macd=(2, 3, 2))
    bars = candles()
    hours = pd.date_range("2024-01-01 06:00", periods=4, freq="h", tz="UTC")
    bars["ts"] = list(hours) * 2  # rows are BTC's four bars, then ETH's
    bars = bars.astype({"ts": "datetime64[us, UTC]"})
    f = compute_features(bars, cfg).set_index("event_timestamp")
    btc = f[f["symbol"] == "BTC"]
    r = np.diff(np.log(col("BTC", 3)))
    assert btc["realized_var_day"].iloc[-1] == pytest.approx(r[-1] ** 2 + r[-2] ** 2)
    assert btc["hour_sin"].iloc[0] == pytest.approx(math.sin(2 * math.pi * 6 / 24))


def test_garch_matches_the_arch_forecast_at_a_refit_point():
    from arch import arch_model

    from feature_repo.transforms.garch import garch_forecast

    rng = np.random.default_rng(3)
    r = rng.standard_t(6, 400) * 0.02
    out = garch_forecast(r, min_history=300, refit_every=50)
    fitted = arch_model(r[:300] * 100, mean="Zero", vol="GARCH", p=1, q=1).fit(disp="off")
    expected = math.sqrt(fitted.forecast(horizon=1).variance.to_numpy()[-1, 0]) / 100
    assert np.isnan(out[:299]).all()
    assert out[299] == pytest.approx(expected, rel=1e-6)  # sigma(300 | r <= 299)
