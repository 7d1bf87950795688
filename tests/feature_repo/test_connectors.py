"""Connector logic without an exchange: sources, resume points, closed candles, health, bus rows."""

from __future__ import annotations

import pandas as pd
import pytest

from feature_repo.connectors import bus, freshness
from feature_repo.connectors import sources as src
from feature_repo.connectors.exchange import candles, closed_cutoff, redirect
from feature_repo.connectors.pull import resume_from
from feature_repo.connectors.stream import due
from monitoring.alerting import source_alert

H = 3_600_000  # one hour in ms
T0 = 1_780_000_000_000 - 1_780_000_000_000 % H


def source(**kw) -> src.Source:
    return src.Source(**{"name": "binance", "exchange": "binance", "bar": "1h",
                         "pairs": ["BTC/USDT", "ETH/USDT"], **kw})


# ----- sources ----------------------------------------------------------------------------------
def test_a_source_checks_its_fields():
    assert source(pairs=[" btc/usdt ", "ETH/USDT", "ETH/USDT"]).pairs == ["BTC/USDT", "ETH/USDT"]
    with pytest.raises(ValueError, match="unknown bar size '2h'"):
        source(bar="2h")
    with pytest.raises(ValueError, match="not a pair like BTC/USDT"):
        source(pairs=["BTCUSDT"])
    with pytest.raises(ValueError, match="BTC/USDT and BTC/BUSD are the same coin"):
        source(pairs=["BTC/USDT", "BTC/BUSD"])
    with pytest.raises(ValueError, match="not an http"):
        source(url="127.0.0.1:80")


def test_the_first_source_listing_a_coin_is_its_primary():
    a = source(name="kraken", exchange="kraken", pairs=["BTC/USD"])
    b = source(name="binance", pairs=["BTC/USDT", "ETH/USDT"])
    daily = source(name="daily", pairs=["SOL/USDT"], bar="1d")
    assert src.primaries([a, b, daily], "1h") == {"BTC": "kraken", "ETH": "binance"}
    assert src.primaries([b, a, daily], "1h") == {"BTC": "binance", "ETH": "binance"}
    assert src.primaries([a, b, daily], "1d") == {"SOL": "daily"}


def test_sources_file_round_trip_and_ordering(tmp_path):
    path = tmp_path / "sources.yaml"
    src.add(path, source(name="binance"))
    src.add(path, source(name="okx", exchange="okx", pairs=["BTC/USDT"]))
    assert [s.name for s in src.load(path)] == ["binance", "okx"]
    src.add(path, source(name="kraken", exchange="kraken", pairs=["BTC/USD"]), primary=True)
    assert [s.name for s in src.load(path)] == ["kraken", "binance", "okx"]
    with pytest.raises(src.SourceError, match="a source named 'okx' exists"):
        src.add(path, source(name="okx", exchange="okx", pairs=["ETH/USDT"]))
    src.add(path, source(name="okx", exchange="okx", pairs=["ETH/USDT"]), replace=True)
    assert src.load(path)[2].pairs == ["ETH/USDT"]
    assert [s.name for s in src.remove(path, "binance")] == ["kraken", "okx"]
    with pytest.raises(src.SourceError, match="no source named 'nope'.*sources: kraken, okx"):
        src.remove(path, "nope")
    assert path.read_text().startswith("# cryptovol exchange sources")


@pytest.mark.parametrize(("text", "message"), [
    ("sources: [\n  - {name: a\n", r"line \d+: not valid YAML"),
    ("pairs: []\n", "expected a `sources:` list"),
    ("sources:\n  - {name: a, exchange: binance, bar: 7h, pairs: [BTC/USDT]}\n",
     "source a: bar: Value error, unknown bar size '7h'"),
    ("sources:\n  - {name: a, exchange: binance, bar: 1h, pairs: [BTC/USDT], colour: red}\n",
     "source a: colour: Extra inputs are not permitted"),
    ("sources:\n  - {name: a, exchange: binance, bar: 1h, pairs: [BTC/USDT]}\n"
     "  - {name: a, exchange: okx, bar: 1h, pairs: [ETH/USDT]}\n", "source name.s. a used twice"),
])
def test_a_broken_sources_file_is_one_line_naming_file_and_field(tmp_path, text, message):
    path = tmp_path / "sources.yaml"
    path.write_text(text)
    with pytest.raises(src.SourceError, match=message) as caught:
        src.load(path)
    assert str(caught.value).startswith(str(path)) and "\n" not in str(caught.value)


def test_for_bar_names_an_unknown_source():
    both = [source(name="a"), source(name="b", bar="1d")]
    assert [s.name for s in src.for_bar(both, "1h")] == ["a"]
    with pytest.raises(src.SourceError, match="unknown source.s. c; known: a, b"):
        src.for_bar(both, "1h", ["c"])


# ----- exchange edge ------------------------------------------------------------------------------
def test_every_api_url_is_sent_to_the_override_host_with_the_real_host_kept():
    urls = {"public": "https://api.binance.com/api/v3",
            "ws": {"spot": "wss://stream.binance.com:9443/ws"}, "doc": ["x"]}
    assert redirect(urls, "http://127.0.0.1:8765") == {
        "public": "http://127.0.0.1:8765/api.binance.com/api/v3",
        "ws": {"spot": "ws://127.0.0.1:8765/stream.binance.com:9443/ws"}, "doc": ["x"]}
    assert redirect(urls, "https://proxy:443")["ws"]["spot"].startswith("wss://proxy:443/")


def test_closed_cutoff_is_the_earlier_of_the_two_clocks():
    assert closed_cutoff(5_000, 9_000) == 5_000
    assert closed_cutoff(9_000, 5_000) == 5_000
    assert closed_cutoff(None, 7_000) == 7_000


def test_candles_keeps_closed_bars_stamped_at_their_close_with_the_raw_quote_volume():
    rows = [[T0, 10.0, 11.0, 9.0, 10.5, 2.0], [T0 + H, 10.5, 12.0, 10.0, 11.0, 3.0],
            [T0 + 2 * H, 11.0, 11.5, 10.8, 11.2, 0.4]]  # the last one is still open
    raw = [[r[0], str(r[1]), str(r[2]), str(r[3]), str(r[4]), str(r[5]), r[0] + H - 1, str(r[5] * 10)]
           for r in rows]
    out = candles(rows, raw, source(), "ETH/USDT", cutoff_ms=T0 + 2 * H + 600_000)
    assert list(out["ts"]) == [pd.Timestamp(T0 + H, unit="ms", tz="UTC"),
                               pd.Timestamp(T0 + 2 * H, unit="ms", tz="UTC")]
    assert list(out["symbol"]) == ["ETH", "ETH"] and set(out["source"]) == {"binance"}
    assert list(out["quote_volume"]) == [20.0, 30.0]
    assert out["market_cap"].isna().all()
    # a raw answer that is not the parsed one (another pair's) gives no quote volume at all
    other = [[r[0], "1", "1", "1", "99.0", "1", 0, "777"] for r in rows]
    assert candles(rows, other, source(), "ETH/USDT", T0 + 3 * H)["quote_volume"].isna().all()
    # an exchange whose raw layout is unknown: quote volume missing, never guessed
    assert candles(rows, raw, source(exchange="kraken"), "ETH/USDT",
                   T0 + 3 * H)["quote_volume"].isna().all()


def test_resume_from_the_overlap_before_the_newest_bar_held_else_the_backfill():
    close = pd.Timestamp(T0, unit="ms", tz="UTC")
    assert resume_from(close, None, T0 + 10 * H, H, 90, overlap=3) == T0 - 3 * H
    assert resume_from(close - pd.Timedelta(hours=5), close, T0 + 10 * H, H, 90, 0) == T0
    cutoff = T0 + 10 * H + 123
    assert resume_from(None, None, cutoff, H, backfill_days=2, overlap=3) == T0 + 10 * H - 48 * H


def test_pairs_are_due_once_a_candle_opens_after_the_next_bar():
    watermark = {"BTC/USDT": T0, "ETH/USDT": T0}
    assert due({"BTC/USDT": T0, "ETH/USDT": T0 + H}, watermark, H) == ["ETH/USDT"]
    assert due({"BTC/USDT": T0 + 3 * H}, watermark, H) == ["BTC/USDT"]
    assert due({"SOL/USDT": T0 + 3 * H}, watermark, H) == []


# ----- health ------------------------------------------------------------------------------------
def test_lag_and_silence_are_counted_in_bars_of_the_exchanges_clock():
    now = pd.Timestamp("2026-06-01 10:20", tz="UTC")
    newest = {"BTC/USDT": pd.Timestamp("2026-06-01 10:00", tz="UTC"),
              "ETH/USDT": pd.Timestamp("2026-06-01 07:00", tz="UTC"),
              "SOL/USDT": pd.Timestamp("2026-06-01 06:00", tz="UTC"), "XRP/USDT": None}
    health = {h.pair: h for h in freshness.assess("binance", newest, now, pd.Timedelta("1h"), 3.0)}
    assert [health[p].lag_bars for p in ("BTC/USDT", "ETH/USDT", "SOL/USDT")] == [0, 3, 4]
    assert [health[p].silent for p in newest] == [False, False, True, True]
    assert health["XRP/USDT"].lag_bars is None


def test_an_alert_when_a_pair_turns_silent_and_when_it_is_back_not_in_between():
    t = pd.Timestamp("2026-06-01", tz="UTC")

    def h(pair: str, silent: bool) -> freshness.PairHealth:
        return freshness.PairHealth("b", pair, t, t, 5.0 if silent else 0.0, silent)

    state, went, back = freshness.transitions({}, [h("BTC", True), h("ETH", False)], t)
    assert state == {"BTC": t.isoformat()} and [x.pair for x in went] == ["BTC"] and back == []
    later = t + pd.Timedelta("1h")
    state, went, back = freshness.transitions(state, [h("BTC", True), h("ETH", False)], later)
    assert state == {"BTC": t.isoformat()} and went == [] and back == []
    state, went, back = freshness.transitions(state, [h("BTC", False), h("ETH", False)], later)
    assert state == {} and went == [] and [x.pair for x in back] == ["BTC"]


def test_the_silent_source_alert_names_pair_lag_and_last_error():
    t = pd.Timestamp("2026-06-01 10:00", tz="UTC")
    health = freshness.PairHealth("binance", "BTC/USDT", t - pd.Timedelta("5h"), t, 5.0, True,
                                  "RequestTimeout: binance GET ...")
    alert = source_alert("binance", "binance", "1h", [health.as_dict()], [], 3.0)
    assert alert.kind == "source_silent" and alert.severity == "warning"
    assert alert.title == "source binance (1h) silent: BTC/USDT"
    assert "BTC/USDT: 5 bars behind (newest bar 2026-06-01T05:00, exchange at 2026-06-01T10:00)" in alert.text
    assert "last error: RequestTimeout" in alert.text
    back = source_alert("binance", "binance", "1h", [], [health.as_dict()], 3.0)
    assert back.kind == "source_back" and back.severity == "info" and "deliver again" in back.text


# ----- bus rows ----------------------------------------------------------------------------------
def test_a_bar_survives_the_bus_exactly():
    row = pd.Series({"symbol": "BTC", "ts": pd.Timestamp(T0, unit="ms", tz="UTC"), "open": 0.1 + 0.2,
                     "high": 1 / 3, "low": 0.1, "close": 0.25, "volume": 12.5, "quote_volume": float("nan")})
    fields = bus.message("binance", "BTC/USDT", row)
    assert fields["close_ms"] == str(T0) and fields["open"] == repr(0.1 + 0.2)
    back = bus.to_candles([(f"{T0 + 5}-0", fields)])
    assert back.loc[0, "open"] == 0.1 + 0.2 and back.loc[0, "high"] == 1 / 3
    assert back.loc[0, "ts"] == row["ts"] and back.loc[0, "source"] == "binance"
    assert pd.isna(back.loc[0, "quote_volume"]) and back.loc[0, "pair"] == "BTC/USDT"
    assert back.loc[0, "published"] == pd.Timestamp(T0 + 5, unit="ms", tz="UTC")
