"""Realized performance: forecasts joined with what happened, QLIKE next to HAR and EWMA."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from monitoring.performance import evaluate, logged_forecasts, recent


def _q(r: float, f: float) -> float:
    ratio = r * r / (f * f)
    return ratio - math.log(ratio) - 1


def _rows(values: list[tuple[str, str, float]], column: str) -> pd.DataFrame:
    return pd.DataFrame({"symbol": [v[0] for v in values],
                         "as_of": pd.to_datetime([v[1] for v in values], utc=True),
                         column: [v[2] for v in values]})


def test_qlike_is_scored_on_the_rows_every_model_and_the_realized_value_have():
    forecasts = _rows([("BTC", "2024-01-01", 0.02), ("BTC", "2024-01-02", 0.03),
                       ("ETH", "2024-01-01", 0.04), ("ETH", "2024-01-03", 0.05)], "champion")
    baselines = _rows([("BTC", "2024-01-01", 0.01), ("BTC", "2024-01-02", 0.03),
                       ("ETH", "2024-01-01", 0.02), ("ETH", "2024-01-03", 0.05)], "har")
    baselines["ewma"] = [0.02, 0.02, 0.04, float("nan")]  # ETH 01-03: no EWMA -> not scored
    targets = _rows([("BTC", "2024-01-01", 0.02), ("BTC", "2024-01-02", 0.06),
                     ("ETH", "2024-01-01", 0.04)], "target_rv")  # ETH 01-03: horizon not passed
    targets = targets.rename(columns={"as_of": "event_timestamp"})
    perf = evaluate(forecasts, baselines, targets, "recomputed", window=2)
    assert perf.scored == 3
    champion = [_q(0.02, 0.02), _q(0.06, 0.03), _q(0.04, 0.04)]  # = [0, 4 - ln 4 - 1, 0]
    har = [_q(0.02, 0.01), _q(0.06, 0.03), _q(0.04, 0.02)]
    assert perf.qlike["champion"] == pytest.approx(np.mean(champion))
    assert perf.qlike["champion"] == pytest.approx((3 - math.log(4)) / 3)
    assert perf.qlike["har"] == pytest.approx(np.mean(har))
    assert perf.qlike["ewma"] == pytest.approx(np.mean([0, _q(0.06, 0.02), 0]))
    by_coin = perf.per_symbol.set_index("symbol")
    assert by_coin.loc["BTC", "rows"] == 2 and by_coin.loc["ETH", "rows"] == 1
    assert by_coin.loc["BTC", "champion"] == pytest.approx((champion[0] + champion[1]) / 2)
    # rolling over 2 bar closes, pooled over coins: 01-01 has 2 rows, 01-02 adds 1
    assert perf.rolling["champion"].tolist() == pytest.approx([0.0, champion[1] / 3])
    assert "champion QLIKE 0.5379 vs HAR" in perf.describe() and "3 scored" in perf.describe()


def test_nothing_scored_says_so():
    empty = _rows([], "champion")
    baselines = _rows([], "har").assign(ewma=[])
    targets = _rows([], "target_rv").rename(columns={"as_of": "event_timestamp"})
    perf = evaluate(empty, baselines, targets, "prediction log")
    assert perf.scored == 0 and math.isnan(perf.qlike["champion"])
    assert perf.describe() == "no forecast scored yet (none whose horizon has passed)"


def test_the_log_gives_the_first_forecast_of_the_champion_per_symbol_and_bar():
    log = pd.DataFrame({
        "symbol": ["BTC", "BTC", "BTC", "ETH"],
        "as_of": pd.to_datetime(["2024-01-01"] * 4, utc=True),
        "logged_at": pd.to_datetime(["2024-01-01 00:05", "2024-01-01 00:01", "2024-01-01 00:02",
                                     "2024-01-01 00:03"], utc=True),
        "model_version": ["1", "1", "2", "1"],
        "predicted_vol_per_bar": [0.5, 0.1, 0.9, 0.2],
    })
    got = logged_forecasts(log, "1").sort_values("symbol")
    assert got["champion"].tolist() == [0.1, 0.2]


def test_the_log_of_two_served_horizons_gives_each_model_its_own_forecasts():
    """Issue 23: rows were selected by version alone; versions are numbered per registered
    model, so with h7 and h14 served the h14 model's v3 was scored as the h7 champion's v3."""
    t = pd.Timestamp("2024-01-01", tz="UTC")
    log = pd.DataFrame({
        "symbol": ["BTC", "BTC", "BTC"], "as_of": [t] * 3,
        "logged_at": [t + pd.Timedelta(minutes=m) for m in (1, 2, 3)],
        "model_name": ["crypto-vol-forecaster-1d-h14", "crypto-vol-forecaster-1d-h7",
                       "crypto-vol-forecaster-1d-h7"],
        "model_version": ["3", "3", "3"], "role": ["champion", "challenger", "champion"],
        "predicted_vol_per_bar": [0.9, 0.2, 0.3],
    })
    assert logged_forecasts(log, "3", "crypto-vol-forecaster-1d-h7")["champion"].tolist() == [0.2]
    assert logged_forecasts(log, "3", "crypto-vol-forecaster-1d-h7", role="champion")[
        "champion"].tolist() == [0.3]
    assert logged_forecasts(log, "3", "crypto-vol-forecaster-1d-h14")["champion"].tolist() == [0.9]


def test_recent_keeps_the_trailing_days():
    rows = _rows([("BTC", "2024-01-01", 1.0), ("BTC", "2024-01-20", 1.0),
                  ("BTC", "2024-02-01", 1.0)], "x")
    assert recent(rows, days=15)["as_of"].dt.day.tolist() == [20, 1]
