"""Pulls against the local fake Binance (ccxt over real HTTP on 127.0.0.1): pages, gaps, 429s,
restatements, open candles, a crash mid-pull, an exchange that is away."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pandas as pd
import pytest

from cryptovol.settings import REPO_ROOT, Settings
from feature_repo import candle_store
from feature_repo.connectors import landing
from feature_repo.connectors import sources as src
from feature_repo.connectors.pull import handoff, pull_source
from tests.fake_exchange.fixtures import assert_landed_equals_truth, fake_source, truth

pytestmark = pytest.mark.integration
HOUR = pd.Timedelta("1h")


@pytest.fixture
def home_settings(tmp_path) -> Settings:
    s = Settings(home=tmp_path / "home", redis_url=None, mlflow_tracking_uri=None, bar="1h")
    s.ensure_dirs()
    return s


def test_a_first_pull_backfills_every_page_and_stores_no_open_candle(fake, home_settings):
    source = fake_source(fake)  # 20 days = 480 bars, pages of at most 250
    src.add(home_settings.sources_path, source)
    pulled = pull_source(home_settings, source)
    btc = assert_landed_equals_truth(home_settings.home, fake, source)
    assert len(btc) == 480 and pulled.new == 3 * 480 and not pulled.failed
    assert [p.pages for p in pulled.pairs] == [2, 2, 2]  # 250 + 230: the second reaches the present
    open_bar_close = pd.Timestamp(fake.market.opens[fake.market.closed], unit="ms", tz="UTC") + HOUR
    assert btc["ts"].max() == open_bar_close - HOUR  # the open candle was served, never stored
    assert pulled.cutoff < open_bar_close


def test_a_pull_fills_the_missed_bars_exactly(fake, home_settings):
    source = fake_source(fake)
    src.add(home_settings.sources_path, source)
    pull_source(home_settings, source)
    before = {p: len(landing.read(home_settings.home, "binance", "1h", p)) for p in source.pairs}
    fake.advance_bars(7)  # the platform was away for 7 bars
    asked = dict(fake.market.requests)
    pulled = pull_source(home_settings, source)
    assert [p.new for p in pulled.pairs] == [7, 7, 7]
    assert [p.restated for p in pulled.pairs] == [0, 0, 0]
    after = {p: len(landing.read(home_settings.home, "binance", "1h", p)) for p in source.pairs}
    assert {p: after[p] - before[p] for p in source.pairs} == dict.fromkeys(source.pairs, 7)
    assert fake.market.requests["/api/v3/klines"] - asked["/api/v3/klines"] == 3  # one page per pair
    assert_landed_equals_truth(home_settings.home, fake, source)


def test_a_rate_limited_request_waits_as_the_exchange_asks_and_is_retried(fake, home_settings):
    source = fake_source(fake)
    src.add(home_settings.sources_path, source)
    fake.market.fail_next(2, status=429, retry_after=3, path="/api/v3/klines")
    waits: list[float] = []
    pulled = pull_source(home_settings, source, sleep=waits.append)
    assert not pulled.failed
    assert sum(p.retries for p in pulled.pairs) == 2 and len(waits) == 2
    assert all(w >= 3 for w in waits)  # Retry-After honoured (back-off never shorter)
    assert_landed_equals_truth(home_settings.home, fake, source)


def test_a_pair_that_keeps_failing_is_reported_and_the_others_are_pulled(fake, home_settings):
    source = fake_source(fake, pairs=["BTC/USDT", "NOPE/USDT", "ETH/USDT"])
    src.add(home_settings.sources_path, source)
    fake.market.fail_next(6, status=503, path="/api/v3/klines")  # BTC's first try and 5 retries
    waits: list[float] = []
    pulled = pull_source(home_settings, source, sleep=waits.append)
    assert len(waits) == 5  # CRYPTOVOL_PULL_RETRIES, then the pair is given up
    errors = {p.pair: p.error for p in pulled.pairs}
    assert errors["BTC/USDT"].startswith("OperationFailed")  # Binance's -1001 "Internal error"
    assert errors["NOPE/USDT"].startswith("BadSymbol")  # not retried: a user's mistake
    assert errors["ETH/USDT"] is None and pulled.pairs[2].new == 480
    assert "failed: BTC/USDT: OperationFailed" in pulled.describe()


def test_a_restated_candle_is_fetched_again_and_handed_to_the_candle_store(fake, home_settings):
    source = fake_source(fake)
    src.add(home_settings.sources_path, source)
    pull_source(home_settings, source)
    from feature_repo.ingest import ingest_frames

    ingest_frames(home_settings, handoff(home_settings, [source]), "1h")
    fake.advance_bars(1)
    restated_open = fake.market.restate("BTCUSDT", bars_ago=3, factor=1.02)  # inside the overlap
    pulled = pull_source(home_settings, source)
    assert pulled.pairs[0].restated == 1 and pulled.pairs[0].new == 1
    btc = assert_landed_equals_truth(home_settings.home, fake, source)
    stamp = pd.Timestamp(restated_open + 3_600_000, unit="ms", tz="UTC")
    result = ingest_frames(home_settings, handoff(home_settings, [source]), "1h")
    assert result.stored.updated == 1 and result.stored.inserted == 3
    assert result.stored.changed_from["BTC"] == stamp
    stored = candle_store.read_candles(home_settings.home, "1h").set_index(["symbol", "ts"])
    assert stored.loc[("BTC", stamp), "close"] == btc.set_index("ts").loc[stamp, "close"]


def test_a_gap_in_the_exchanges_own_data_is_skipped_not_looped_on(fake, home_settings):
    source = fake_source(fake)
    src.add(home_settings.sources_path, source)
    first = fake.market.closed - 300
    fake.market.drop_bars("ETHUSDT", first, 5)  # five hours of exchange maintenance
    pulled = pull_source(home_settings, source)
    eth = assert_landed_equals_truth(home_settings.home, fake, source)  # (the first pair: BTC)
    eth = landing.read(home_settings.home, "binance", "1h", "ETH/USDT")
    assert pulled.pairs[1].new == 475 and pulled.pairs[1].pages == 2
    from feature_repo.ingest import ingest_frames

    result = ingest_frames(home_settings, handoff(home_settings, [source]), "1h")
    gaps = result.report.gaps
    assert list(gaps["symbol"]) == ["ETH"] and list(gaps["missing_bars"]) == [5]
    assert len(eth) == 475


def test_a_gap_longer_than_a_page_is_stepped_over_on_a_venue_that_pages_by_time(fake, home_settings):
    fake.market.window_paging = True  # [since, since + limit bars) only, as some exchanges answer
    source = fake_source(fake, backfill_days=24)  # 576 bars; ETH misses 300 of them
    src.add(home_settings.sources_path, source)
    fake.market.drop_bars("ETHUSDT", fake.market.closed - 500, 300)
    asked = fake.market.requests.get("/api/v3/klines", 0)
    pulled = pull_source(home_settings.model_copy(update={"pull_page_limit": 100}), source)
    assert [p.new for p in pulled.pairs] == [576, 276, 576]
    assert_landed_equals_truth(home_settings.home, fake, source)  # the bars after the gap too
    assert fake.market.requests["/api/v3/klines"] - asked <= 3 * 7  # no request beyond the present


def _pull_process(home) -> subprocess.Popen:
    """``pull_source`` of the home's first source, in a process of its own."""
    script = textwrap.dedent(f"""
        from cryptovol.settings import Settings
        from feature_repo.connectors import sources
        from feature_repo.connectors.pull import pull_source
        s = Settings(home={str(home)!r}, bar="1h")
        pull_source(s, sources.load(s.sources_path)[0])
    """)
    return subprocess.Popen([sys.executable, "-c", script], cwd=REPO_ROOT,
                            env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})


def test_two_pulls_at_once_both_finish_and_land_each_bar_once(fake, home_settings):
    source = fake_source(fake)
    src.add(home_settings.sources_path, source)
    fake.market.delay_seconds = 0.05
    both = [_pull_process(home_settings.home), _pull_process(home_settings.home)]
    assert [p.wait(timeout=300) for p in both] == [0, 0]
    assert len(assert_landed_equals_truth(home_settings.home, fake, source)) == 480


def test_a_pull_killed_mid_way_resumes_without_duplicates(fake, home_settings):
    source = fake_source(fake, backfill_days=25)  # 600 bars: 3 pages a pair
    src.add(home_settings.sources_path, source)
    fake.market.delay_seconds = 0.4
    proc = _pull_process(home_settings.home)
    btc = landing.landing_path(home_settings.home, "binance", "1h", "BTC/USDT")
    deadline = time.monotonic() + 120
    while not btc.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)  # mid-pull: after BTC's first page landed
    proc.wait(timeout=30)
    landed_first = len(landing.read(home_settings.home, "binance", "1h", "BTC/USDT"))
    assert 0 < landed_first < 600
    fake.market.delay_seconds = 0.0
    asked = fake.market.requests["/api/v3/klines"]
    resumed = pull_source(home_settings, source)
    assert resumed.pairs[0].new == 600 - landed_first  # only what was missing
    assert fake.market.requests["/api/v3/klines"] - asked <= 3 * 3 + 1
    assert len(assert_landed_equals_truth(home_settings.home, fake, source)) == 600
    assert not list(btc.parent.glob(f".{btc.name}.*.tmp"))  # a killed write's leftovers cleared


def test_an_exchange_that_is_away_is_one_line_per_pair_and_nothing_is_lost(fake, home_settings):
    source = fake_source(fake)
    src.add(home_settings.sources_path, source)
    pull_source(home_settings, source)
    fake.stop()
    waits: list[float] = []
    pulled = pull_source(home_settings, source, sleep=waits.append)
    assert pulled.error.startswith("ExchangeNotAvailable") or pulled.error.startswith("NetworkError")
    assert "\n" not in pulled.describe() and "unreachable" in pulled.describe()
    assert [p.newest for p in pulled.pairs] == [truth(fake, p)["ts"].max() for p in source.pairs]
    assert len(landing.read(home_settings.home, "binance", "1h", "BTC/USDT")) == 480


def test_a_second_source_of_a_coin_lands_apart_and_never_reaches_the_candle_store(fake, home_settings):
    primary = fake_source(fake, pairs=["BTC/USDT"])
    second = fake_source(fake, name="mirror", pairs=["BTC/USDT", "ETH/USDT"])
    src.add(home_settings.sources_path, primary)
    src.add(home_settings.sources_path, second)
    for s in (primary, second):
        pull_source(home_settings, s)
    frames = handoff(home_settings, [primary, second])
    assert [origin for origin, _ in frames] == ["binance BTC/USDT", "mirror ETH/USDT"]
    assert {f["source"].iloc[0] for _, f in frames} == {"binance", "mirror"}
    assert len(landing.read(home_settings.home, "mirror", "1h", "BTC/USDT")) == 480


def test_a_malformed_candle_from_the_exchange_is_quarantined_with_its_reason(fake, home_settings):
    source = fake_source(fake)
    src.add(home_settings.sources_path, source)
    i = fake.market.closed - 10
    o, h, lo, c, v, q = fake.market.values["ETHUSDT"][i]
    fake.market.values["ETHUSDT"][i] = [o, lo * 0.9, lo, c, v, q]  # a high below the low
    pull_source(home_settings, source)
    from feature_repo.ingest import ingest_frames

    result = ingest_frames(home_settings, handoff(home_settings, [source]), "1h")
    bad = pd.Timestamp(int(fake.market.opens[i]) + 3_600_000, unit="ms", tz="UTC")
    quarantined = candle_store.read_quarantine(home_settings.home, "1h")
    assert list(quarantined[["symbol", "reason", "origin"]].itertuples(index=False, name=None)) == [
        ("ETH", "ohlc_inconsistent", "binance ETH/USDT")]
    assert quarantined["ts"].iloc[0] == bad
    assert result.report.balanced and result.report.totals()["quarantined"] == 1
    stored = candle_store.read_candles(home_settings.home, "1h")
    assert bad not in set(stored.loc[stored["symbol"] == "ETH", "ts"])
    assert len(stored) == 3 * 480 - 1
