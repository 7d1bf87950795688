"""ccxt at the edge: open an exchange for a source, ask it for candles, turn them into ours.

Every exchange is reached through ccxt (REST: ``ccxt``; WebSocket: ``ccxt.pro``), with its
own rate limiter on. ``Source.url`` sends every request to another host: each API URL
``https://api.binance.com/api/v3`` becomes ``<url>/api.binance.com/api/v3`` (``ws://`` for
WebSocket ones), which is how the tests point ccxt at a local fake exchange.

Closed candles only: a candle closes at its open time plus the bar, and is closed once that
is at or before the exchange's clock (``fetchTime``, else ours; never later than ours).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

import pandas as pd

from cryptovol.bars import BAR_SECONDS
from feature_repo.connectors.sources import Source, SourceError
from feature_repo.loaders.candles import CANDLE_COLUMNS, TS_DTYPE

log = logging.getLogger(__name__)
T = TypeVar("T")

# Where an exchange's raw kline carries the quote volume, which ccxt's unified OHLCV drops
# (index into Binance's 12-field kline arrays). Other exchanges: quote volume stays missing.
QUOTE_VOLUME_FIELD = {"binance": 7, "binanceus": 7}


def open_exchange(source: Source, flavour: str = "sync", timeout_ms: int = 15_000):
    """A ccxt exchange for ``source``: ``sync`` (ccxt), ``async`` (ccxt.async_support) or
    ``pro`` (ccxt.pro, WebSocket + async REST)."""
    import ccxt  # noqa: PLC0415 (a large import, only where exchanges are used)

    module = {"sync": ccxt, "async": None, "pro": None}[flavour]
    if flavour == "async":
        import ccxt.async_support as module  # noqa: PLC0415
    elif flavour == "pro":
        import ccxt.pro as module  # noqa: PLC0415
    cls = getattr(module, source.exchange, None)
    if cls is None:
        what = "a ccxt exchange" if flavour != "pro" else "a ccxt.pro (WebSocket) exchange"
        raise SourceError(f"source {source.name}: {source.exchange!r} is not {what}")
    exchange = cls({"enableRateLimit": True, "timeout": timeout_ms, "options": dict(source.options)})
    exchange.enableLastJsonResponse = True
    if source.url:
        exchange.urls["api"] = redirect(exchange.urls["api"], source.url)
    return exchange


def redirect(urls: Any, base: str) -> Any:
    """Every URL in ccxt's ``urls['api']`` sent to ``base``, the real host kept as the first path
    segment: ``wss://stream.binance.com:9443/ws`` → ``ws://127.0.0.1:8765/stream.binance.com:9443/ws``."""
    if isinstance(urls, dict):
        return {k: redirect(v, base) for k, v in urls.items()}
    if isinstance(urls, str) and "://" in urls:
        scheme, rest = urls.split("://", 1)
        host = base.split("://", 1)[1]
        secure = base.startswith("https")
        if scheme.startswith("ws"):
            return f"{'wss' if secure else 'ws'}://{host}/{rest}"
        return f"{'https' if secure else 'http'}://{host}/{rest}"
    return urls


def timeframe(exchange, bar: str, source: Source) -> str:
    """The exchange's name of ``bar`` (ccxt's unified timeframes use ours: 1m ... 1d)."""
    frames = getattr(exchange, "timeframes", None) or {}
    if frames and bar not in frames:
        raise SourceError(f"source {source.name}: {source.exchange} has no {bar} candles "
                          f"(it has {', '.join(frames)})")
    return bar


def bar_ms(bar: str) -> int:
    return BAR_SECONDS[bar] * 1000


def closed_cutoff(server_ms: int | None, local_ms: int | None = None) -> int:
    """The latest close time (ms) a closed candle may have: the exchange's clock, never ours+."""
    local_ms = int(time.time() * 1000) if local_ms is None else local_ms
    return min(server_ms, local_ms) if server_ms is not None else local_ms


def candles(rows: list[list], raw: Any, source: Source, pair: str, cutoff_ms: int) -> pd.DataFrame:
    """ccxt OHLCV rows → canonical candles (``ts`` = open + bar), closed ones only. Pure.

    ``raw``: the exchange's own answer (``last_json_response``), for the quote volume where
    :data:`QUOTE_VOLUME_FIELD` knows its place; otherwise it stays missing.
    """
    step = bar_ms(source.bar)
    frame = pd.DataFrame(rows, columns=["open_ms", "open", "high", "low", "close", "volume"])
    frame = frame[frame["open_ms"] + step <= cutoff_ms]
    quote = _quote_volumes(raw, source.exchange, dict(zip(frame["open_ms"], frame["close"],
                                                          strict=True)))
    out = pd.DataFrame({
        "symbol": source.symbol(pair),
        "ts": pd.to_datetime(frame["open_ms"] + step, unit="ms", utc=True).astype(TS_DTYPE),
        "open": frame["open"].astype(float), "high": frame["high"].astype(float),
        "low": frame["low"].astype(float), "close": frame["close"].astype(float),
        "volume": pd.to_numeric(frame["volume"], errors="coerce").astype(float),
        "quote_volume": frame["open_ms"].map(quote).astype(float) if quote else float("nan"),
        "market_cap": float("nan"), "source": source.name,
    })
    return out[CANDLE_COLUMNS].reset_index(drop=True)


def _quote_volumes(raw: Any, exchange: str, closes: dict[int, float]) -> dict[int, float]:
    """open (ms) → quote volume from the raw klines, for the rows whose close matches ``closes``
    (a raw answer that is not the one parsed gives nothing, never another pair's volume)."""
    field = QUOTE_VOLUME_FIELD.get(exchange)
    if field is None or not isinstance(raw, list):
        return {}
    out = {}
    for row in raw:
        try:
            opened = int(row[0])
            if closes.get(opened) == float(row[4]):
                out[opened] = float(row[field])
        except (TypeError, ValueError, IndexError):
            continue
    return out


def retrying(call: Callable[[], T], what: str, retries: int, exchange=None,
             sleep: Callable[[float], None] = time.sleep, on_retry=None) -> T:
    """``call()``, retried on what may pass by itself — rate limits (HTTP 429/418: the server's
    ``Retry-After``, else exponential back-off), timeouts, network errors, an exchange that is
    down — up to ``retries`` times; other errors (a bad symbol, a bad request) at once."""
    import ccxt  # noqa: PLC0415
    from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt  # noqa: PLC0415
    from tenacity.wait import wait_exponential_jitter  # noqa: PLC0415

    backoff = wait_exponential_jitter(initial=1, max=60, jitter=0.5)

    def wait(state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        seconds = backoff(state)
        if isinstance(error, ccxt.DDoSProtection) and exchange is not None:
            seconds = max(seconds, _retry_after(exchange.last_response_headers) or 0)
        return min(seconds, 120.0)

    def before_sleep(state: RetryCallState) -> None:
        error = state.outcome.exception()
        reason = str(error).splitlines()[0][:160]
        log.warning("%s: %s (%s); retry %d/%d in %.1f s", what, type(error).__name__, reason,
                    state.attempt_number, retries, state.upcoming_sleep)
        if on_retry:
            on_retry()

    # ccxt's OperationFailed: the recoverable errors (network, rate limit, exchange away or busy)
    retryer = Retrying(retry=retry_if_exception_type(ccxt.OperationFailed), wait=wait,
                       stop=stop_after_attempt(retries + 1), sleep=sleep, reraise=True,
                       before_sleep=before_sleep)
    return retryer(call)


def _retry_after(headers) -> float | None:
    if not headers:
        return None
    for key, value in dict(headers).items():
        if key.lower() == "retry-after":
            try:
                return float(value)
            except (TypeError, ValueError):
                return None
    return None
