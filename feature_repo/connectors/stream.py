"""The streamer: an exchange's kline stream tells when bars close; they go on the bar bus.

For a source it subscribes (``ccxt.pro`` ``watch_ohlcv_for_symbols``) to the kline stream of
every pair. A bar has closed once a candle that opens at or after its close is seen — on
Binance, within a second or two of the close. The closed bars are then read through the
exchange's REST klines, the same call and parsing as a pull: a streamed bar is the bar the
exchange stores (ccxt's WebSocket OHLCV also drops the quote volume, which the REST answer
has), and a bar missed while the socket was down is read the same way. Each bar goes onto the
bus once (``bus.publish``: a watermark per pair, moved atomically with the append).

A disconnect is one warning line; the streamer reconnects with back-off and catches up
through REST from each pair's watermark. Every ``catch_up_seconds`` it also catches up
without waiting for the stream (a quiet market sends no next candle; a message may be lost).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import pandas as pd

from cryptovol.settings import Settings
from feature_repo import candle_store
from feature_repo.connectors import bus, landing
from feature_repo.connectors import exchange as ex
from feature_repo.connectors.sources import Source

log = logging.getLogger(__name__)


def due(seen_open: dict[str, int], watermark: dict[str, int], bar_ms: int) -> list[str]:
    """Pairs with a closed bar after their watermark: a candle opening at or after the close of
    the bar after the watermark has been seen. Pure."""
    return [pair for pair, opened in seen_open.items()
            if pair in watermark and opened >= watermark[pair] + bar_ms]


class BarStreamer:
    """Streams one source's closed bars onto the bus until ``stop`` is set."""

    def __init__(self, settings: Settings, source: Source, redis_client, exchange=None,
                 catch_up_seconds: float = 60.0, max_backoff: float = 30.0) -> None:
        self.settings = settings
        self.source = source
        self.client = redis_client  # redis.asyncio
        self.exchange = exchange
        self.catch_up_seconds = catch_up_seconds
        self.max_backoff = max_backoff
        self.step = ex.bar_ms(source.bar)
        self.watermark: dict[str, int] = {}
        self.published = 0
        self.reconnects = 0

    async def run(self, stop: asyncio.Event) -> None:
        exchange = self.exchange or ex.open_exchange(self.source, "pro")
        try:
            await self._until_ready(exchange, stop)
            await self._stream(exchange, stop)
        finally:
            await exchange.close()

    async def _until_ready(self, exchange, stop: asyncio.Event) -> None:
        """Markets loaded and every pair's watermark known (retried while the exchange is away)."""
        delay = 1.0
        while not stop.is_set():
            try:
                await exchange.load_markets()
                await self._init_watermarks(exchange)
                await self.catch_up(exchange, list(self.source.pairs))
                return
            except Exception as error:  # noqa: BLE001 - ccxt and Redis errors alike: retried
                log.warning("stream %s: not ready (%s); retrying in %.0f s", self.source.name,
                            _one_line(error), delay)
                await _sleep(stop, delay)
                delay = min(delay * 2, self.max_backoff)

    async def _init_watermarks(self, exchange) -> None:
        """Published watermarks from Redis; a pair never published starts after the newest bar
        held (landed or stored), else after the exchange's newest closed bar."""
        self.watermark = await bus.watermarks(self.client, self.source.name, self.source.bar)
        missing = [p for p in self.source.pairs if p not in self.watermark]
        if not missing:
            return
        stored = candle_store.read_candles(self.settings.home, self.source.bar)
        newest = stored[stored["source"] == self.source.name].groupby("symbol")["ts"].max()
        cutoff = await self._cutoff(exchange)
        for pair in missing:
            held = [t for t in (landing.newest(self.settings.home, self.source.name, self.source.bar, pair),
                                newest.get(self.source.symbol(pair))) if t is not None and not pd.isna(t)]
            self.watermark[pair] = (int(max(held).value // 1_000_000) if held
                                    else cutoff - cutoff % self.step - self.step)

    async def _cutoff(self, exchange) -> int:
        server = await exchange.fetch_time() if exchange.has.get("fetchTime") else None
        return ex.closed_cutoff(server)

    async def _stream(self, exchange, stop: asyncio.Event) -> None:
        tf = ex.timeframe(exchange, self.source.bar, self.source)
        subscriptions = [[pair, tf] for pair in self.source.pairs]
        last_catch_up, delay, lost = time.monotonic(), 1.0, False
        retry_at, failures = 0.0, 0
        while not stop.is_set():
            try:
                await asyncio.wait_for(exchange.watch_ohlcv_for_symbols(subscriptions), timeout=5)
                if lost:
                    log.info("stream %s: reconnected", self.source.name)
                lost, delay = False, 1.0
            except TimeoutError:
                pass
            except Exception as error:  # noqa: BLE001 - a dropped socket, an exchange away
                if not lost:
                    log.warning("stream %s: disconnected (%s); reconnecting with back-off, "
                                "then catching up through REST", self.source.name, _one_line(error))
                lost = True
                self.reconnects += 1
                await _sleep(stop, delay)
                delay = min(delay * 2, self.max_backoff)
                continue
            # the pairs of a source share one bar grid: one pair's close is every pair's
            pairs = list(self.source.pairs) if (
                due(self._seen_open(exchange, tf), self.watermark, self.step)
                or time.monotonic() - last_catch_up > self.catch_up_seconds) else []
            if pairs and time.monotonic() >= retry_at:
                try:
                    await self.catch_up(exchange, pairs)
                    last_catch_up, failures = time.monotonic(), 0
                except Exception as error:  # noqa: BLE001 - retried with back-off
                    failures += 1
                    wait = min(2.0 ** failures, self.max_backoff)
                    retry_at = time.monotonic() + wait
                    log.warning("stream %s: catching up failed (%s); retrying in %.0f s",
                                self.source.name, _one_line(error), wait)

    def _seen_open(self, exchange, tf: str) -> dict[str, int]:
        """pair → open time (ms) of the newest candle the stream has shown."""
        out = {}
        for pair in self.source.pairs:
            cached = (getattr(exchange, "ohlcvs", {}) or {}).get(pair, {}).get(tf)
            if cached:
                out[pair] = int(cached[-1][0])
        return out

    async def catch_up(self, exchange, pairs: list[str]) -> int:
        """Read the closed bars after each pair's watermark through REST and publish them,
        oldest first per pair. (One request at a time: a kline's quote volume is read from the
        exchange's raw answer, which concurrent requests would overwrite.)"""
        cutoff = await self._cutoff(exchange)
        pages = [await self._closed_after(exchange, pair, cutoff) for pair in pairs]
        published = 0
        for pair, page in zip(pairs, pages, strict=True):
            for _, row in page.iterrows():
                if await bus.publish(self.client, self.source.bar, self.source.name, pair, row,
                                     self.settings.stream_maxlen):
                    published += 1
                self.watermark[pair] = int(row["ts"].value // 1_000_000)
        if published:
            self.published += published
            log.info("stream %s: %d closed bar(s) published", self.source.name, published)
        return published

    async def _closed_after(self, exchange, pair: str, cutoff: int) -> pd.DataFrame:
        """The closed candles of ``pair`` after its watermark, every page of them."""
        tf = ex.timeframe(exchange, self.source.bar, self.source)
        since, pages = self.watermark[pair], []  # since: the open of the bar after the watermark's
        while since + self.step <= cutoff:
            rows = await exchange.fetch_ohlcv(pair, tf, since=since, limit=self.settings.pull_page_limit)
            page = ex.candles(rows, exchange.last_json_response, self.source, pair, cutoff)
            page = page[page["ts"] > pd.Timestamp(since, unit="ms", tz="UTC")]
            if page.empty:
                break
            pages.append(page)
            since = int(page["ts"].max().value // 1_000_000)
        return pd.concat(pages, ignore_index=True) if pages else ex.candles([], None, self.source, pair, 0)


async def _sleep(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


def _one_line(error: BaseException) -> str:
    return f"{type(error).__name__}: {str(error).splitlines()[0][:160] if str(error) else ''}"
