"""Resampling 1h → 1d, and the candle store's upsert (idempotent re-ingest)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from feature_repo import candle_store
from feature_repo.loaders.resample import resample


def hourly(hours: int, start: str = "2024-01-01 01:00") -> pd.DataFrame:
    ts = pd.date_range(start, periods=hours, freq="h", tz="UTC")
    close = 100 + np.arange(hours, dtype=float)
    return pd.DataFrame({"symbol": "AAA", "ts": ts.astype("datetime64[us, UTC]"), "open": close - 0.5,
                         "high": close + 1, "low": close - 1, "close": close, "volume": 1.0,
                         "quote_volume": close, "market_cap": close * 10, "source": "test"})


def test_hourly_bars_aggregate_into_days_labelled_by_their_close():
    daily, stats = resample(hourly(48), "1h", "1d")
    assert daily["ts"].tolist() == [pd.Timestamp(d, tz="UTC") for d in ("2024-01-02", "2024-01-03")]
    first = daily.iloc[0]  # bars closing 01:00 .. 24:00 of Jan 1
    assert (first["open"], first["high"], first["low"], first["close"]) == (99.5, 124.0, 99.0, 123.0)
    assert first["volume"] == 24.0 and first["quote_volume"] == pytest.approx(sum(range(100, 124)))
    assert first["market_cap"] == 1230.0 and stats["dropped_incomplete"] == 0


def test_incomplete_days_are_dropped_and_counted():
    bars = hourly(48).drop(index=range(30, 40))  # day 2 misses 10 of 24 hours
    daily, stats = resample(bars, "1h", "1d")
    assert len(daily) == 1 and stats == {"coarse_bars": 1, "dropped_incomplete": 1, "kept_incomplete": 0}
    with pytest.raises(ValueError, match="not a coarser multiple"):
        resample(bars, "1d", "1h")


def test_upsert_is_idempotent_and_new_values_win(tmp_path):
    first = candle_store.upsert(tmp_path, "1h", hourly(10))
    assert (first.inserted, first.updated, first.total) == (10, 0, 10)
    path = candle_store.candles_path(tmp_path, "1h")
    mtime = path.stat().st_mtime_ns
    again = candle_store.upsert(tmp_path, "1h", hourly(10))
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 10)
    assert path.stat().st_mtime_ns == mtime  # nothing rewritten
    changed = hourly(12)
    changed.loc[0, "close"] = 100.25
    third = candle_store.upsert(tmp_path, "1h", changed)
    assert (third.inserted, third.updated, third.unchanged, third.total) == (2, 1, 9, 12)
    assert candle_store.read_candles(tmp_path, "1h")["close"].iloc[0] == 100.25


def test_coverage_counts_gaps_and_quarantine():
    bars = hourly(10).drop(index=[3, 4, 7])
    quarantine = pd.DataFrame({"symbol": ["AAA", "AAA"]})
    cover = candle_store.coverage(bars, quarantine, pd.Timedelta(hours=1)).iloc[0]
    assert (cover["bars"], cover["missing_bars"], cover["gaps"], cover["quarantined"]) == (7, 3, 2, 2)
