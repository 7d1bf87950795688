"""CryptoDataDownload exports: every quirk of the real BTC/USDT files, on excerpts of them."""

from __future__ import annotations

import pandas as pd
import pytest

from feature_repo.loaders.reader import read_file
from tests.conftest import DATA


@pytest.fixture(scope="module")
def hourly():
    return read_file(DATA / "cdd_btcusdt_1h_excerpt.csv")


def test_every_row_is_kept_or_quarantined_with_a_reason(hourly):
    candles, report = hourly
    t = report.totals()
    assert report.bar == "1h" and report.balanced
    assert (t["read"], t["kept"], t["quarantined"]) == (130, 120, 10)
    assert (t["q_partial_bar"], t["q_duplicate_bar"], t["q_bad_print"]) == (1, 8, 1)
    assert len(candles) == 120 and candles["symbol"].unique().tolist() == ["BTC"]


def test_newest_row_is_the_partial_candle_and_ts_is_the_close(hourly):
    candles, report = hourly
    partial = report.quarantine[report.quarantine["reason"] == "partial_bar"]
    # unix 1623283200000 = 2021-06-10 00:00 open -> close 01:00
    assert partial["ts"].tolist() == [pd.Timestamp("2021-06-10 01:00", tz="UTC")]
    assert candles["ts"].max() == pd.Timestamp("2021-06-10 00:00", tz="UTC")


def test_splice_duplicates_keep_the_full_precision_row(hourly):
    candles, report = hourly
    dups = report.quarantine[report.quarantine["reason"] == "duplicate_bar"]
    assert dups["ts"].between("2020-11-20 01:00", "2020-11-20 08:00").all()
    row = candles.set_index("ts").loc[pd.Timestamp("2020-11-20 08:00", tz="UTC")]
    assert row["volume"] == pytest.approx(6097.866380)  # the ms export; the old one says 6097.87
    assert report.notes[0] == ("mixed timestamp units in unix: 72 in ms, 58 in s "
                               "(decided per row by magnitude)")


def test_bad_print_dates_and_gaps(hourly):
    candles, report = hourly
    bad = report.quarantine[report.quarantine["reason"] == "bad_print"].iloc[0]
    assert bad["ts"] == pd.Timestamp("2017-08-17 05:00", tz="UTC") and bad["open"] == 16199.91
    assert "15 rows have a date that disagrees with unix (by 4 h); unix trusted" in report.notes
    gaps = report.gaps.set_index("after")["missing_bars"]
    assert gaps[pd.Timestamp("2020-12-21 15:00", tz="UTC")] == 3
    assert gaps[pd.Timestamp("2021-04-25 05:00", tz="UTC")] == 3


def test_zero_volume_bars_are_marked_missing(hourly):
    candles, report = hourly
    assert report.totals()["zero_volume"] == 1
    assert candles["volume"].isna().sum() == 1 and (candles["volume"].dropna() > 0).all()


def test_daily_export_duplicated_day_and_partial_day():
    candles, report = read_file(DATA / "cdd_btcusdt_d_excerpt.csv")
    q = report.quarantine.set_index("reason")["ts"]
    assert report.bar == "1d" and report.balanced
    assert q["partial_bar"] == pd.Timestamp("2021-06-12", tz="UTC")
    assert q["duplicate_bar"] == pd.Timestamp("2017-12-19", tz="UTC")  # the 2017-12-18 open
    kept = candles.set_index("ts").loc[pd.Timestamp("2017-12-19", tz="UTC")]
    assert kept["volume"] == pytest.approx(10624.633071)


def test_cmc_excerpt_gap_and_bad_print():
    candles, report = read_file(DATA / "coin_Monero_excerpt.csv")
    assert pd.Timestamp("2014-06-06", tz="UTC") not in set(candles["ts"])  # 2014-06-05 missing
    assert report.quarantine["ts"].tolist() == [pd.Timestamp("2014-08-05", tz="UTC")]  # Date 08-04
