"""The fake exchange's market: candles on a simulated clock, and the quirks of a real venue.

A :class:`FakeMarket` holds a timeline of bars for every pair (simulated GARCH candles at real
price and volume levels, ``benchmarks/simulate.py``). Bars ``[0, closed)`` have closed; bar
``closed`` is the one still open, whose values grow towards its final ones as wall time passes
(never past its close: only :meth:`advance` closes a bar, so tests decide when time moves).

Quirks a connector must survive, each switched on by a method:
- a page cap below what the client asks (``page_cap``), and a weight limit per minute (HTTP 429
  with ``Retry-After``), or the next N requests failing (:meth:`fail_next`);
- a restated candle (:meth:`restate`), a gap in the exchange's own data (:meth:`drop_bars`),
  a pair that stops trading (:meth:`halt`).
Pure state: the HTTP/WebSocket wire format is ``server.py``.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

TICKERS = ["BTC", "ETH", "BNB", "ADA", "SOL", "XRP", "DOGE", "DOT", "LTC", "LINK",
           "AVAX", "TRX", "ATOM", "XLM", "ETC", "FIL"]
QUOTE = "USDT"
BAR_MS = {"1m": 60_000, "5m": 300_000, "15m": 900_000, "30m": 1_800_000, "1h": 3_600_000,
          "4h": 14_400_000, "1d": 86_400_000}


@dataclass
class Failure:
    status: int
    count: int
    retry_after: float
    path: str | None  # None: every REST path


@dataclass
class FakeMarket:
    """``bars`` bars of ``len(pairs)`` pairs; the first ``closed`` have closed."""

    pairs: list[str]  # exchange ids, e.g. BTCUSDT
    bar: str
    opens: np.ndarray  # open time (ms) of every bar of the timeline
    values: dict[str, np.ndarray]  # pair -> [bars, 6]: open, high, low, close, volume, quote volume
    closed: int
    page_cap: int = 1000
    weight_per_minute: int = 6000
    delay_seconds: float = 0.0  # every REST answer waits this long (a slow exchange)
    window_paging: bool = False  # answer only bars in [start, start + limit bars), as some venues do
    present: dict[str, np.ndarray] = field(default_factory=dict)  # pair -> bar exists (gaps: False)
    halted: dict[str, int] = field(default_factory=dict)  # pair -> first bar it no longer has
    failures: list[Failure] = field(default_factory=list)
    requests: dict[str, int] = field(default_factory=dict)  # path -> count
    advanced_at: float = field(default_factory=time.time)  # wall time of the last close
    lock: threading.RLock = field(default_factory=threading.RLock)
    _weights: list[tuple[float, int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        for pair in self.pairs:
            self.present.setdefault(pair, np.ones(len(self.opens), dtype=bool))

    @classmethod
    def simulated(cls, pairs: int = 10, bar: str = "1h", history: int = 2400, future: int = 500,
                  end: str | pd.Timestamp = "2026-06-01", seed: int = 7, **kwargs) -> FakeMarket:
        """``history`` closed bars ending at ``end`` (UTC), ``future`` more to close by advancing."""
        from benchmarks.simulate import simulate_candles  # noqa: PLC0415 (the test-data generator)

        total = history + future + 1
        years = total * BAR_MS[bar] / (365 * 86_400_000)
        frame = simulate_candles(pairs, years * 1.001, bar, seed)
        names = sorted(frame["symbol"].unique(), key=lambda s: (s != "BTC", s))
        ids = [f"{TICKERS[i] if i < len(TICKERS) else f'C{i:03d}'}{QUOTE}" for i in range(len(names))]
        first_open = pd.Timestamp(end, tz="UTC").value // 1_000_000 - history * BAR_MS[bar]
        opens = first_open + BAR_MS[bar] * np.arange(total, dtype=np.int64)
        cols = ["open", "high", "low", "close", "volume", "quote_volume"]
        values = {pid: frame[frame["symbol"] == name][cols].to_numpy()[:total]
                  for pid, name in zip(ids, names, strict=True)}
        return cls(pairs=ids, bar=bar, opens=opens, values=values, closed=history, **kwargs)

    # ----- the clock ------------------------------------------------------------------------
    @property
    def bar_ms(self) -> int:
        return BAR_MS[self.bar]

    def server_time(self) -> int:
        """Exchange time (ms): inside the open bar, moving with the wall clock since its open."""
        with self.lock:
            elapsed = int((time.time() - self.advanced_at) * 1000)
            return int(self.opens[self.closed]) + min(max(elapsed, 1000), self.bar_ms - 1000)

    def advance(self, bars: int = 1) -> list[int]:
        """Close the open bar (and ``bars - 1`` more); returns the close times (ms) of the bars
        that closed."""
        with self.lock:
            if self.closed + bars >= len(self.opens):
                raise ValueError("the fake market's timeline is exhausted")
            closes = [int(self.opens[i]) + self.bar_ms for i in range(self.closed, self.closed + bars)]
            self.closed += bars
            self.advanced_at = time.time()
            return closes

    # ----- quirks ---------------------------------------------------------------------------
    def fail_next(self, count: int, status: int = 429, retry_after: float = 1.0,
                  path: str | None = None) -> None:
        with self.lock:
            self.failures.append(Failure(status, count, retry_after, path))

    def restate(self, pair: str, bars_ago: int = 1, factor: float = 1.01) -> int:
        """Change a closed bar's close (and high/low to stay consistent); returns its open time."""
        with self.lock:
            i = self.closed - bars_ago
            o, h, lo, c, v, q = self.values[pair][i]
            c2 = c * factor
            self.values[pair][i] = [o, max(h, c2), min(lo, c2), c2, v, q]
            return int(self.opens[i])

    def drop_bars(self, pair: str, first: int, count: int) -> list[int]:
        """Remove bars ``first .. first + count - 1`` (timeline indices): the exchange's own gap."""
        with self.lock:
            self.present[pair][first:first + count] = False
            return [int(t) for t in self.opens[first:first + count]]

    def halt(self, pair: str) -> None:
        """The pair stops trading: no bar from the open one on."""
        with self.lock:
            self.halted[pair] = self.closed

    def resume(self, pair: str) -> None:
        """The pair trades again, its missed bars published after all (a late back-fill)."""
        with self.lock:
            self.halted.pop(pair, None)

    def take_failure(self, path: str) -> Failure | None:
        with self.lock:
            for failure in self.failures:
                if failure.count > 0 and (failure.path is None or failure.path == path):
                    failure.count -= 1
                    return failure
            return None

    def charge(self, path: str, weight: int) -> float | None:
        """Count a request; seconds to wait if the minute's weight is used up (else None)."""
        with self.lock:
            now = time.time()
            self.requests[path] = self.requests.get(path, 0) + 1
            self._weights = [(t, w) for t, w in self._weights if now - t < 60]
            used = sum(w for _, w in self._weights)
            if used + weight > self.weight_per_minute:
                return 60 - (now - self._weights[0][0]) if self._weights else 1.0
            self._weights.append((now, weight))
            return None

    def used_weight(self) -> int:
        with self.lock:
            return sum(w for t, w in self._weights if time.time() - t < 60)

    # ----- what the exchange answers --------------------------------------------------------
    def _exists(self, pair: str, i: int) -> bool:
        return bool(self.present[pair][i]) and i < self.halted.get(pair, len(self.opens))

    def kline(self, pair: str, i: int) -> list:
        """Binance's kline array of bar ``i`` (the open bar: its values so far)."""
        o, h, lo, c, v, q = self.values[pair][i]
        if i >= self.closed:  # still open: part of the way from its open to its final values
            frac = min(max((self.server_time() - self.opens[i]) / self.bar_ms, 0.05), 0.95)
            c = o + (c - o) * frac
            h, lo, v, q = max(o, c, o + (h - o) * frac), min(o, c, o + (lo - o) * frac), v * frac, q * frac
        open_ms = int(self.opens[i])
        trades = 1000 + i % 500
        return [open_ms, f"{o:.8f}", f"{h:.8f}", f"{lo:.8f}", f"{c:.8f}", f"{v:.8f}",
                open_ms + self.bar_ms - 1, f"{q:.8f}", trades, f"{v / 2:.8f}", f"{q / 2:.8f}", "0"]

    def klines(self, pair: str, start: int | None, end: int | None, limit: int) -> list[list]:
        """``GET /api/v3/klines``: bars with start <= open <= end, oldest first, at most
        ``limit`` (and the page cap); without ``start``, the newest ones."""
        with self.lock:
            last = self.closed if pair not in self.halted else min(self.closed, self.halted[pair] - 1)
            if self.window_paging and start is not None:
                window_end = start + limit * self.bar_ms - 1
                end = window_end if end is None else min(end, window_end)
            idx = [i for i in range(last + 1) if self._exists(pair, i)
                   and (start is None or self.opens[i] >= start) and (end is None or self.opens[i] <= end)]
            n = min(limit, self.page_cap)
            idx = idx[:n] if start is not None else idx[-n:]
            return [self.kline(pair, i) for i in idx]

    def closed_candles(self, pair: str) -> pd.DataFrame:
        """Every closed bar the exchange holds for ``pair`` now, as canonical candles (truth)."""
        with self.lock:
            idx = [i for i in range(self.closed) if self._exists(pair, i)]
            wire = np.vectorize(lambda x: float(f"{x:.8f}"))(self.values[pair][idx])  # as served
            return pd.DataFrame({
                "symbol": pair.removesuffix(QUOTE),
                "ts": pd.to_datetime(self.opens[idx] + self.bar_ms, unit="ms", utc=True),
                **{col: wire[:, k] for k, col in enumerate(
                    ["open", "high", "low", "close", "volume", "quote_volume"])}})
