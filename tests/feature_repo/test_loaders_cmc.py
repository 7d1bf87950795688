"""The CoinMarketCap loader on the bundled demo data, and its errors on bad input."""

from __future__ import annotations

import pandas as pd
import pytest

from cryptovol.settings import DEMO_DATA
from feature_repo.loaders.candles import CANDLE_COLUMNS, CandleError
from feature_repo.loaders.cmc import parse_cmc
from feature_repo.loaders.reader import read_file


@pytest.fixture(scope="module")
def loaded():
    return read_file(DEMO_DATA)


def test_demo_loads_all_coins_and_rows(loaded):
    candles, report = loaded
    assert list(candles.columns) == CANDLE_COLUMNS
    totals = report.totals()
    assert totals["read"] == 37082 and candles["symbol"].nunique() == 23
    # every quarantined row is a bad print (a wick that reverts), e.g. XMR's 37.78 high among ~2.0
    assert totals["quarantined"] == totals["q_bad_print"] == 16
    assert len(candles) == 37082 - 16 and report.balanced
    per = report.per_symbol.set_index("symbol")
    assert per.loc["BTC", "read"] == 2991 and per.loc["AAVE", "read"] == 275
    bad = report.quarantine.set_index(["symbol", "ts"])
    assert ("XMR", pd.Timestamp("2014-08-05", tz="UTC")) in bad.index
    assert ("WBTC", pd.Timestamp("2019-08-29", tz="UTC")) in bad.index


def test_bar_close_is_put_on_the_day_boundary(loaded):
    candles, _ = loaded
    btc = candles[candles["symbol"] == "BTC"]
    # first CMC row: Date 2013-04-29 23:59:59 -> close time 2013-04-30 00:00 UTC
    assert btc["ts"].iloc[0] == pd.Timestamp("2013-04-30", tz="UTC")
    assert (candles["ts"].dt.hour == 0).all() and (candles["ts"].dt.second == 0).all()
    assert str(candles["ts"].dtype) == "datetime64[us, UTC]"


def test_zero_volume_and_market_cap_mean_not_recorded(loaded):
    candles, report = loaded
    per = report.per_symbol.set_index("symbol")
    # the counts the data README documents
    assert per.loc["BTC", "zero_volume"] == 242 and per.loc["LTC", "zero_volume"] == 242
    assert per.loc["XRP", "zero_volume"] == 144 and per.loc["DOGE", "zero_volume"] == 11
    assert per.loc["WBTC", "zero_market_cap"] == 196 and per.loc["SOL", "zero_market_cap"] == 52
    btc = candles[candles["symbol"] == "BTC"].set_index("ts")
    assert btc.loc[:"2013-12-27", "quote_volume"].isna().all()
    assert btc.loc["2013-12-28":, "quote_volume"].gt(0).all()
    assert (candles["quote_volume"].dropna() > 0).all()
    assert candles["volume"].isna().all()  # CMC gives USD volume only; base volume unknown


def test_known_gaps_are_kept_as_gaps(loaded):
    candles, _ = loaded
    xmr = candles[candles["symbol"] == "XMR"]["ts"]
    assert pd.Timestamp("2014-06-06", tz="UTC") not in set(xmr)  # 2014-06-05 close is missing


def _raw(**overrides) -> pd.DataFrame:
    row = {"Name": "Bitcoin", "Symbol": "BTC", "Date": "2021-01-01 23:59:59", "High": 2.0,
           "Low": 1.0, "Open": 1.5, "Close": 1.8, "Volume": 10.0, "Marketcap": 100.0}
    row.update(overrides)
    return pd.DataFrame([row])


def test_missing_column_is_named():
    with pytest.raises(CandleError, match=r"demo.csv: .*missing columns \['Marketcap'\]"):
        parse_cmc(_raw().drop(columns="Marketcap"), origin="demo.csv")


def test_bad_date_names_row_and_field():
    with pytest.raises(CandleError, match=r"x.csv: line 2: field Date='2021-01-01 12:00:00'"):
        parse_cmc(_raw(Date="2021-01-01 12:00:00"), origin="x.csv")


def test_inconsistent_ohlc_and_duplicates_are_quarantined_and_counted():
    raw = pd.concat([_raw(), _raw(), _raw(Date="2021-01-02 23:59:59", High=1.2)], ignore_index=True)
    kept, report = parse_cmc(raw)
    assert len(kept) == 1
    assert sorted(report.quarantine["reason"]) == ["duplicate_bar", "ohlc_inconsistent"]
    totals = report.totals()
    assert report.balanced and (totals["read"], totals["kept"], totals["quarantined"]) == (3, 1, 2)
    assert totals["q_duplicate_bar"] == 1 and totals["q_ohlc_inconsistent"] == 1


def test_unreadable_file_gets_a_clear_error(tmp_path):
    bad = tmp_path / "coin_X.parquet"
    bad.write_text("not parquet")
    with pytest.raises(CandleError, match="coin_X.parquet: cannot be read"):
        read_file(bad)
    with pytest.raises(CandleError, match="no such file"):
        read_file(tmp_path / "missing.csv")
