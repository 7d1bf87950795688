"""Binance klines, CoinGecko close-only series, the canonical schema; detection and errors."""

from __future__ import annotations

import pandas as pd
import pytest

from feature_repo.loaders.candles import CandleError
from feature_repo.loaders.reader import expand_paths, read_file, read_paths
from tests.conftest import DATA

KLINES = [  # open_time, o, h, l, c, volume, close_time, quote_volume, trades, tb, tq, ignore
    "1704067200000,42283.58,42554.57,42261.02,42475.23,1271.68,1704070799999,53957248.97,47134,682.9,28976.2,0",
    "1704070800000,42475.23,42775.00,42431.65,42613.56,1196.37,1704074399999,50873312.51,49736,629.1,26753.8,0",
    "1704074400000,42613.57,42638.27,42500.00,42502.00,0,1704077999999,0,0,0,0,0",
]


def test_binance_klines_without_header_in_ms(tmp_path):
    path = tmp_path / "BTCUSDT-1h-2024-01.csv"
    path.write_text("\n".join(KLINES) + "\n")
    candles, report = read_file(path)
    assert report.bar == "1h" and report.balanced and candles["symbol"].unique().tolist() == ["BTC"]
    assert candles["ts"].iloc[0] == pd.Timestamp("2024-01-01 01:00", tz="UTC")  # open 00:00 + 1h
    assert candles["quote_volume"].iloc[1] == pytest.approx(50873312.51)
    assert report.totals()["zero_volume"] == 1 and pd.isna(candles["volume"].iloc[2])


def test_binance_klines_with_header_in_microseconds(tmp_path):
    header = ("open_time,open,high,low,close,volume,close_time,quote_volume,count,"
              "taker_buy_volume,taker_buy_quote_volume,ignore")
    rows = [r.replace("1704067200000,", "1704067200000000,", 1).replace(
        "1704070800000,", "1704070800000000,", 1) for r in KLINES[:2]]
    path = tmp_path / "ETHUSDT-1h-2025-01.csv"
    path.write_text(header + "\n" + "\n".join(rows) + "\n")
    candles, _ = read_file(path)
    assert candles["ts"].tolist() == [pd.Timestamp("2024-01-01 01:00", tz="UTC"),
                                      pd.Timestamp("2024-01-01 02:00", tz="UTC")]
    assert candles["symbol"].iloc[0] == "ETH"


def test_coingecko_close_only_leaves_ohlc_missing(tmp_path):
    path = tmp_path / "sol-usd-max.csv"
    path.write_text("snapped_at,price,market_cap,total_volume\n"
                    "2021-07-01 00:00:00 UTC,34.1,9300000000,600000000\n"
                    "2021-07-02 00:00:00 UTC,33.2,0,550000000\n"
                    "2021-07-03 00:00:00 UTC,34.9,9500000000,510000000\n"
                    "2021-07-03 14:31:07 UTC,35.5,9600000000,300000000\n")
    candles, report = read_file(path)
    assert report.bar == "1d" and candles["symbol"].unique().tolist() == ["SOL"]
    assert candles[["open", "high", "low"]].isna().all().all()
    assert candles["close"].tolist() == [34.1, 33.2, 34.9]
    t = report.totals()
    assert t["q_partial_bar"] == 1 and t["zero_market_cap"] == 1 and report.balanced


def test_canonical_parquet_round_trip(tmp_path, demo_candles):
    path = tmp_path / "mine.parquet"
    sample = demo_candles[demo_candles["symbol"].isin(["BTC", "ETH"])]
    sample.to_parquet(path)
    candles, report = read_file(path)
    assert report.bar == "1d" and len(candles) == len(sample) and report.totals()["quarantined"] == 0
    pd.testing.assert_frame_equal(candles.reset_index(drop=True), sample.reset_index(drop=True))


def test_format_can_be_forced_and_unknown_columns_are_named(tmp_path):
    path = tmp_path / "odd.csv"
    path.write_text("when,px\n2021-01-01,1\n")
    with pytest.raises(CandleError, match=r"odd.csv: unrecognised columns \['when', 'px'\]"):
        read_file(path)
    with pytest.raises(CandleError, match="unknown format 'xls'"):
        read_file(path, fmt="xls")


def test_bad_number_names_file_line_and_field(tmp_path):
    path = tmp_path / "BTCUSDT-1h.csv"
    path.write_text("\n".join([KLINES[0], KLINES[1].replace("42775.00", "4277S.00")]) + "\n")
    with pytest.raises(CandleError, match=r"BTCUSDT-1h.csv: line 2: field high='4277S.00' is not a number"):
        read_file(path)


def test_paths_folders_and_globs(tmp_path):
    (tmp_path / "a").mkdir()
    for name in ("BTCUSDT-1h.csv", "ETHUSDT-1h.csv"):
        (tmp_path / "a" / name).write_text("\n".join(KLINES) + "\n")
    assert [p.name for p in expand_paths([str(tmp_path / "a")])] == ["BTCUSDT-1h.csv", "ETHUSDT-1h.csv"]
    assert len(expand_paths([str(tmp_path / "a" / "*USDT*.csv")])) == 2
    candles, report, per_file = read_paths([str(tmp_path / "a")])
    assert sorted(candles["symbol"].unique()) == ["BTC", "ETH"] and len(per_file) == 2
    with pytest.raises(CandleError, match="no such file, folder or matching files"):
        expand_paths([str(tmp_path / "nothing*.csv")])


def test_bybit_kline_export_iso_open_times_with_offset():
    candles, report = read_file(DATA / "bybit_BTCUSDT_60.csv")
    assert report.bar == "1h" and report.balanced and len(candles) == 6
    assert set(candles["symbol"]) == {"BTC"}  # from the file name
    # timestamp is the bar open: the first bar (00:00 open) closes at 01:00 UTC
    assert candles["ts"].iloc[0] == pd.Timestamp("2024-03-01 01:00", tz="UTC")
    assert candles["close"].iloc[0] == 61130.2 and candles["close"].iloc[-1] == 61650.2
    assert candles["quote_volume"].iloc[0] == 57038401.77  # turnover is the quote volume
    assert report.totals()["zero_volume"] == 1 and candles["volume"].isna().sum() == 1
    assert set(read_file(DATA / "bybit_BTCUSDT_60.csv", symbol="XBT")[0]["symbol"]) == {"XBT"}


def test_coingecko_history_maps_the_coin_id_and_quarantines_the_export_time_snapshot():
    candles, report = read_file(DATA / "coingecko_bitcoin_history.csv")
    assert report.bar == "1d" and report.balanced
    assert set(candles["symbol"]) == {"BTC"} and len(candles) == 5
    assert report.totals()["q_partial_bar"] == 1  # 2024-03-04 11:22, the moment of export
    assert candles["ts"].iloc[0] == pd.Timestamp("2024-02-29", tz="UTC")
    assert candles[["open", "high", "low"]].isna().all().all()  # close only, never faked
    assert candles["market_cap"].iloc[1] == 1200876338015.02
    renamed, _ = read_file(DATA / "coingecko_bitcoin_history.csv", symbol="XBT")
    assert set(renamed["symbol"]) == {"XBT"}


def test_coingecko_history_with_an_unknown_id_asks_for_the_symbol(tmp_path):
    path = tmp_path / "history.csv"
    text = (DATA / "coingecko_bitcoin_history.csv").read_text().replace("bitcoin", "my-new-coin")
    path.write_text(text)
    with pytest.raises(CandleError, match="'my-new-coin' has no known ticker; name the coin with --symbol"):
        read_file(path)
    assert set(read_file(path, symbol="NEW")[0]["symbol"]) == {"NEW"}


def test_dates_with_utc_offsets_in_cmc_and_cdd_exports(tmp_path):
    cmc = tmp_path / "coin_Offset.csv"
    cmc.write_text("SNo,Name,Symbol,Date,High,Low,Open,Close,Volume,Marketcap\n"
                   "1,Offset,OFS,2021-01-02 01:59:59+02:00,2,1,1.5,1.6,10,100\n"
                   "2,Offset,OFS,2021-01-02T23:59:59Z,2,1,1.6,1.7,10,100\n")
    candles, _ = read_file(cmc)
    assert candles["ts"].tolist() == [pd.Timestamp("2021-01-02", tz="UTC"),
                                      pd.Timestamp("2021-01-03", tz="UTC")]
