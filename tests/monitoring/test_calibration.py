"""Drift thresholds calibrated on the model's own history: by hand, and on a persistent process
whose live windows behave like its history (the alarm rate is the chosen one)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from monitoring.calibration import MIN_PAIRS, calibrate, judge, statistic, window_pairs

DAY = pd.Timedelta(days=1)


def test_window_pairs_by_hand():
    times = pd.Series(pd.date_range("2024-01-01", "2024-01-10", freq="D", tz="UTC"))
    pairs = window_pairs(times, 3 * DAY, 2 * DAY, DAY)
    assert len(pairs) == 5  # splits 01-04 .. 01-08: each current window ends by 01-10
    assert pairs[0] == (times[0], times[3], times[5])
    assert pairs[-1][1] == pd.Timestamp("2024-01-08", tz="UTC")


def _frame(values: np.ndarray, start: str = "2024-01-01") -> pd.DataFrame:
    return pd.DataFrame({"event_timestamp": pd.date_range(start, periods=len(values), freq="D", tz="UTC"),
                         "x": values})


def test_a_value_is_judged_by_its_rank_among_the_historical_pairs():
    a = np.array([0.0, 1, 2, 3])
    shifted = a + np.std(a)  # Evidently's normed Wasserstein: shift / std of the reference = 1.0
    assert statistic(a, shifted) == pytest.approx(1.0)
    null = {"x": np.linspace(0.01, 0.99, 99)}  # 99 past pairs, all below 1.0
    verdict = judge(_frame(a), _frame(shifted), null, alpha=0.05)
    (x,) = verdict.verdicts
    assert x.pvalue == pytest.approx(1 / 100) and x.percentile == 1.0 and x.drifted
    assert x.threshold == pytest.approx(np.quantile(null["x"], 0.95))
    assert verdict.drifted and "drift in 1 of 1 features" in verdict.describe()
    within = judge(_frame(a), _frame(a + 0.5 * np.std(a)), null)  # 0.5: 50 of 99 at or above
    assert within.verdicts[0].pvalue == pytest.approx(51 / 100) and not within.drifted
    short = judge(_frame(a), _frame(shifted), {"x": null["x"][: MIN_PAIRS - 1]})
    assert not short.calibrated and not short.drifted and "needs 40" in short.describe()


def _persistent(rng, days: int, coins: int, phi: float = 0.99) -> pd.DataFrame:
    """Log-vol-like AR(1) features of several coins: very persistent, stationary."""
    rows, times = [], pd.date_range("2015-01-01", periods=days, freq="D", tz="UTC")
    for coin in range(coins):
        x = np.zeros(days)
        for t in range(1, days):
            x[t] = phi * x[t - 1] + rng.normal(0, 0.1)
        rows.append(pd.DataFrame({"symbol": f"C{coin}", "event_timestamp": times, "x": x,
                                  "y": np.exp(x) + rng.normal(0, 0.05, days)}))
    return pd.concat(rows, ignore_index=True)


def test_on_data_like_its_history_the_alarm_rate_is_the_chosen_one():
    """A stationary but persistent process: an uncalibrated two-sample verdict flags nearly
    every window; calibrated on the history, the check alarms on about alpha of them."""
    rng = np.random.default_rng(3)
    data = _persistent(rng, days=2400, coins=3)
    split = pd.Timestamp("2015-01-01", tz="UTC") + 1500 * DAY
    history, live = data[data["event_timestamp"] < split], data
    null = calibrate(history, ["x", "y"], 90 * DAY, 14 * DAY, 5 * DAY)
    assert min(len(v) for v in null.values()) > 250
    alarms, raw = [], []
    for start in pd.date_range(split, periods=55, freq="14D"):
        reference = live[(live["event_timestamp"] >= start - 90 * DAY) & (live["event_timestamp"] < start)]
        current = live[(live["event_timestamp"] >= start) & (live["event_timestamp"] < start + 14 * DAY)]
        alarms.append(judge(reference, current, null, alpha=0.05).drifted)
        raw.append(statistic(reference["x"].to_numpy(), current["x"].to_numpy()) >= 0.1)
    assert np.mean(raw) > 0.6  # Evidently's fixed threshold: most windows "drift"
    assert np.mean(alarms) <= 0.10  # calibrated: close to the chosen 5%


def test_a_real_change_is_found():
    rng = np.random.default_rng(5)
    data = _persistent(rng, days=1600, coins=3)
    null = calibrate(data, ["x", "y"], 90 * DAY, 14 * DAY, 5 * DAY)
    end = data["event_timestamp"].max()
    reference = data[data["event_timestamp"] > end - 90 * DAY]
    current = reference.tail(42).assign(x=lambda f: f["x"] + 1.5, y=lambda f: f["y"] * 3)  # vol x3
    verdict = judge(reference, current, null)
    assert verdict.drifted and {v.feature for v in verdict.verdicts if v.drifted} == {"x", "y"}
