"""Scheduled pulls: the closed candles of every pair of a source since its newest stored bar.

For each pair the pull starts ``pull_overlap_bars`` before the newest bar it holds (landed, or
in the candle store for the coin's primary source), so a candle the exchange restated is
fetched again; with nothing stored it starts ``backfill_days`` back. Pages follow one another
(``since`` = the bar after the last one received; a page shorter than asked is not the end —
exchanges cap pages below what is asked; an empty page steps over a gap) until the exchange's
present is reached; each page lands (``landing.py``) before the next is asked for, so a killed
pull resumes where it stopped and a page fetched twice changes nothing. Requests go through
ccxt's rate limiter and are retried on rate limits and network errors (``exchange.retrying``).
A pair that fails does not stop the others; its error is reported.

Then the primary source's new and changed bars are handed to the refresh path
(:func:`handoff`): the same checks, quarantine, features and online store as candle files.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from cryptovol import files
from cryptovol.settings import Settings
from feature_repo import candle_store
from feature_repo.connectors import exchange as ex
from feature_repo.connectors import landing
from feature_repo.connectors.sources import Source, primaries

log = logging.getLogger(__name__)
# bars before the candle store's newest bar of a coin that a hand-off compares again (a
# restatement older than this is still fetched by an overlapping pull, but not re-checked)
HANDOFF_WINDOW_BARS = 48


@dataclass
class PairPull:
    pair: str
    symbol: str
    pages: int = 0
    received: int = 0  # closed candles received (a page re-fetched counts again)
    new: int = 0
    restated: int = 0
    newest: pd.Timestamp | None = None  # newest landed bar's close
    retries: int = 0
    error: str | None = None


@dataclass
class SourcePull:
    source: str
    exchange: str
    bar: str
    cutoff: pd.Timestamp  # the exchange's clock: candles closing later were still open
    pairs: list[PairPull] = field(default_factory=list)
    seconds: float = 0.0
    error: str | None = None  # the exchange could not be reached at all

    @property
    def new(self) -> int:
        return sum(p.new for p in self.pairs)

    @property
    def failed(self) -> list[PairPull]:
        return [p for p in self.pairs if p.error]

    def describe(self) -> str:
        restated = sum(p.restated for p in self.pairs)
        text = (f"{self.source} ({self.exchange}, {self.bar}): {len(self.pairs)} pairs, "
                f"{self.new:,} new bars" + (f", {restated} restated" if restated else "") +
                f", {sum(p.pages for p in self.pairs)} requests in {self.seconds:.1f} s; exchange "
                f"time {self.cutoff:%Y-%m-%d %H:%M}")
        if self.error:
            return f"{self.source} ({self.exchange}, {self.bar}): unreachable: {self.error}"
        if self.failed:
            text += "; failed: " + "; ".join(f"{p.pair}: {p.error}" for p in self.failed)
        return text


def resume_from(landed: pd.Timestamp | None, stored: pd.Timestamp | None, cutoff_ms: int,
                bar_ms: int, backfill_days: float, overlap: int) -> int:
    """Open time (ms) of the first candle to ask for. Pure.

    From ``overlap`` bars before the newest bar held (``landed`` or ``stored``: bar closes), else
    ``backfill_days`` before the exchange's clock ``cutoff_ms`` (the bars closing after it).
    """
    held = [t for t in (landed, stored) if t is not None and not pd.isna(t)]
    if not held:
        start = cutoff_ms - int(backfill_days * 86_400_000)
        return start - start % bar_ms
    newest_close = int(max(held).value // 1_000_000)
    return newest_close - overlap * bar_ms


def pull_pair(settings: Settings, source: Source, exchange, pair: str, cutoff_ms: int,
              stored: pd.Timestamp | None, sleep=time.sleep) -> PairPull:
    """Fetch and land the closed candles of ``pair`` from its resume point to ``cutoff_ms``."""
    result = PairPull(pair=pair, symbol=source.symbol(pair))
    step = ex.bar_ms(source.bar)
    since = resume_from(landing.newest(settings.home, source.name, source.bar, pair), stored,
                        cutoff_ms, step, source.backfill_days, settings.pull_overlap_bars)
    tf = ex.timeframe(exchange, source.bar, source)
    what = f"{source.name} {pair}"

    def bump() -> None:
        result.retries += 1

    while since + step <= cutoff_ms:
        rows = ex.retrying(
            lambda s=since: exchange.fetch_ohlcv(pair, tf, since=s, limit=settings.pull_page_limit),
            what, settings.pull_retries, exchange, sleep, bump)
        result.pages += 1
        page = ex.candles(rows, exchange.last_json_response, source, pair, cutoff_ms)
        if page.empty:
            if rows:  # only the still-open candle: the present is reached
                break
            # nothing in this page: past a gap for exchanges that page by time windows (Binance
            # answers the next bars after a gap, and then this only ends at the present)
            since += settings.pull_page_limit * step
            continue
        landed = landing.land(settings.home, source.name, source.bar, pair, page)
        result.received += len(page)
        result.new += landed.inserted
        result.restated += landed.updated
        result.newest = page["ts"].max()
        following = int(page["ts"].max().value // 1_000_000)  # the next bar's open
        if following <= since:  # no progress: never loop on an exchange that repeats a page
            break
        since = following
    if result.newest is None:
        result.newest = landing.newest(settings.home, source.name, source.bar, pair)
    return result


def pull_source(settings: Settings, source: Source, exchange=None, sleep=time.sleep,
                progress: Callable[[str], None] | None = None) -> SourcePull:
    """Pull every pair of ``source`` (one pull of a source at a time: a lock)."""
    import ccxt  # noqa: PLC0415

    started = time.monotonic()
    exchange = exchange or ex.open_exchange(source)
    lock = landing.landing_dir(settings.home, source.name, source.bar) / "pull"
    with files.store_lock(lock):
        try:
            server = None
            if exchange.has.get("fetchTime"):
                server = ex.retrying(exchange.fetch_time, f"{source.name} time",
                                     settings.pull_retries, exchange, sleep)
        except ccxt.BaseError as error:  # nothing to pull: the pairs keep their newest bars
            return _unreachable(settings, source, _one_line(error), started)
        cutoff = ex.closed_cutoff(server)
        result = SourcePull(source.name, source.exchange, source.bar,
                            pd.Timestamp(cutoff, unit="ms", tz="UTC"))
        stored = _stored_newest(settings, source)
        for pair in source.pairs:
            try:
                pulled = pull_pair(settings, source, exchange, pair, cutoff, stored.get(pair), sleep)
            except ccxt.BaseError as error:
                pulled = PairPull(pair=pair, symbol=source.symbol(pair), error=_one_line(error),
                                  newest=landing.newest(settings.home, source.name, source.bar, pair))
                log.warning("pull %s %s failed: %s", source.name, pair, pulled.error)
            result.pairs.append(pulled)
            if progress:
                progress(pair)
    result.seconds = time.monotonic() - started
    log.info("pull %s", result.describe())
    return result


def _one_line(error: BaseException) -> str:
    return f"{type(error).__name__}: {str(error).splitlines()[0][:200]}"


def _unreachable(settings: Settings, source: Source, error: str, started: float) -> SourcePull:
    log.warning("pull %s: %s unreachable: %s", source.name, source.exchange, error)
    return SourcePull(
        source.name, source.exchange, source.bar, pd.Timestamp.now(tz="UTC"),
        pairs=[PairPull(pair=p, symbol=source.symbol(p), error="exchange unreachable",
                        newest=landing.newest(settings.home, source.name, source.bar, p))
               for p in source.pairs],
        seconds=time.monotonic() - started, error=error)


def _stored_newest(settings: Settings, source: Source) -> dict[str, pd.Timestamp]:
    """pair → newest bar of its coin in the candle store, for the pairs ``source`` is primary of."""
    from feature_repo.connectors.sources import load  # noqa: PLC0415

    primary = primaries(load(settings.sources_path), source.bar)
    mine = {source.symbol(p): p for p in source.pairs if primary.get(source.symbol(p)) == source.name}
    if not mine:
        return {}
    stored = candle_store.read_candles(settings.home, source.bar)
    newest = stored[stored["symbol"].isin(list(mine))].groupby("symbol")["ts"].max()
    return {mine[s]: t for s, t in newest.items()}


def handoff(settings: Settings, sources: list[Source]) -> list[tuple[str, pd.DataFrame]]:
    """The landed candles the candle store lacks or holds otherwise, for the coins each source
    is primary of: ``(origin, candles)`` for ``feature_jobs.refresh(incoming=...)``.

    Per coin: every landed bar after the store's newest, and the last
    :data:`HANDOFF_WINDOW_BARS` before it (restatements; unchanged ones are a no-op upsert).
    """
    from feature_repo.connectors.sources import load  # noqa: PLC0415

    if not sources:
        return []
    bar = sources[0].bar
    primary = primaries(load(settings.sources_path), bar)
    stored = candle_store.read_candles(settings.home, bar).groupby("symbol")["ts"].max()
    step = pd.Timedelta(seconds=ex.bar_ms(bar) / 1000)
    frames = []
    for source in sources:
        for pair in source.pairs:
            coin = source.symbol(pair)
            if primary.get(coin) != source.name:
                continue
            landed = landing.read(settings.home, source.name, bar, pair)
            if coin in stored.index:
                landed = landed[landed["ts"] > stored[coin] - HANDOFF_WINDOW_BARS * step]
            if len(landed):
                frames.append((f"{source.name} {pair}", landed.reset_index(drop=True)))
    return frames
