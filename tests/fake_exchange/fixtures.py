"""pytest fixtures of the fake exchange (imported by the conftest files that need them)."""

from __future__ import annotations

import pandas as pd
import pytest

from feature_repo.connectors import landing
from feature_repo.connectors import sources as src
from tests.fake_exchange.market import FakeMarket
from tests.fake_exchange.server import FakeExchange


@pytest.fixture
def fake():
    """A fake Binance: 3 hourly pairs, 600 closed bars, pages capped at 250 klines."""
    exchange = FakeExchange(FakeMarket.simulated(pairs=3, history=600, future=200, page_cap=250),
                            ws_update_seconds=0.5).start()
    yield exchange
    exchange.stop()


def fake_source(fake: FakeExchange, **kw) -> src.Source:
    pairs = [f"{p.removesuffix('USDT')}/USDT" for p in fake.market.pairs]
    return src.Source(**{"name": "binance", "exchange": "binance", "bar": fake.market.bar,
                         "pairs": pairs, "url": fake.url, "backfill_days": 20, **kw})


def truth(fake: FakeExchange, pair: str, since: pd.Timestamp | None = None) -> pd.DataFrame:
    """The closed candles the fake holds now for ``pair`` (``BTC/USDT``), from ``since`` on."""
    frame = fake.market.closed_candles(pair.replace("/", ""))
    return frame[frame["ts"] >= since].reset_index(drop=True) if since is not None else frame


def assert_landed_equals_truth(home, fake: FakeExchange, source: src.Source) -> pd.DataFrame:
    """Every pair's landing table holds each closed bar since its first one exactly once, with
    the exchange's values; returns BTC's table."""
    for pair in source.pairs:
        landed = landing.read(home, source.name, source.bar, pair)
        assert not landed.duplicated(["symbol", "ts"]).any()
        want = truth(fake, pair, landed["ts"].min())
        assert list(landed["ts"]) == list(want["ts"]), f"{pair}: bars differ from the exchange's"
        for col in ("open", "high", "low", "close", "volume", "quote_volume"):
            assert (landed[col].to_numpy() == want[col].to_numpy()).all(), f"{pair} {col}"
    return landing.read(home, source.name, source.bar, source.pairs[0])
