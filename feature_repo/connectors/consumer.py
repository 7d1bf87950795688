"""The feature consumer: closed bars from the bus → candle store → features → Feast push → ack.

It reads the bus as a member of the consumer group ``features`` (``bus.py``), in batches (the
bars of every pair that closed together go through one refresh). Each batch takes the refresh
path of candle files — checks and quarantine, the rows the new bars change, the offline
tables, each coin's newest row pushed to the online store through the Feast push source —
then lands in the sources' landing tables, and only then is acknowledged. Bars of a source
that is not its coin's primary only land. Redis away or a store error: one warning line, the
batch stays unacknowledged and is read again after a back-off.
"""

from __future__ import annotations

import logging
import threading
from collections import deque

import pandas as pd
import redis

from cryptovol.settings import Settings
from feature_repo.connectors import bus, landing
from feature_repo.connectors.sources import load, primaries

log = logging.getLogger(__name__)


class BarConsumer:
    def __init__(self, settings: Settings, redis_url: str, name: str | None = None,
                 block_ms: int = 1000, max_backoff: float = 30.0) -> None:
        self.settings = settings
        self.redis_url = redis_url
        self.name = name or bus.consumer_name()
        self.block_ms = block_ms
        self.max_backoff = max_backoff
        self.handled = 0  # bars handled (acknowledged)
        self.latencies: deque[float] = deque(maxlen=1000)  # publish → online (s), per batch

    def run(self, stop: threading.Event) -> None:
        from feature_repo import store as feast_store  # noqa: PLC0415 (imports Feast)

        client = redis.Redis.from_url(self.redis_url, socket_timeout=10, socket_connect_timeout=5)
        store, pending, delay, down = None, True, 1.0, False
        while not stop.is_set():
            try:
                if store is None:
                    bus.ensure_group(client, self.settings.bar)
                    store = feast_store.open_store(self.settings, self.redis_url)
                    self._warm_up(store)
                entries = bus.read(client, self.settings.bar, self.name, pending,
                                   block_ms=self.block_ms)
                if entries and not pending:  # the rest of a burst: one refresh for all of it
                    entries += bus.read(client, self.settings.bar, self.name, False, block_ms=100)
                if pending and not entries:
                    pending = False
                    entries = bus.claim_abandoned(client, self.settings.bar, self.name)
                if entries:
                    self.handle(client, entries, store)
                if down:
                    log.info("consumer: Redis answers again")
                delay, down = 1.0, False
            except (redis.RedisError, OSError) as error:
                if isinstance(error, redis.ResponseError) and "NOGROUP" in str(error):
                    log.warning("consumer: the bus has no consumer group any more (a Redis that "
                                "restarted empty?): joining it again")
                    store, pending = None, True
                    continue
                if not down:
                    log.warning("consumer: Redis unavailable (%s); retrying with back-off, "
                                "nothing is acknowledged meanwhile", str(error).splitlines()[0])
                down, pending = True, True
                stop.wait(delay)
                delay = min(delay * 2, self.max_backoff)
            except Exception as error:  # noqa: BLE001 - a store error: the batch is read again
                from cryptovol.errors import describe  # noqa: PLC0415

                log.warning("consumer: batch not stored (%s); retrying in %.0f s",
                            describe(error) or f"{type(error).__name__}: {error}", delay)
                pending = True
                stop.wait(delay)
                delay = min(delay * 2, self.max_backoff)

    def _warm_up(self, store) -> None:
        """What the first bar would otherwise pay: imports, the Feast registry, a dry run of the
        feature transforms on the newest stored bars (nothing written)."""
        from feature_repo import candle_store  # noqa: PLC0415
        from feature_repo.refresh import recompute  # noqa: PLC0415
        from feature_repo.transforms.config import config_for  # noqa: PLC0415

        store.list_feature_views()
        candles = candle_store.read_candles(self.settings.home, self.settings.bar)
        if len(candles):
            recompute(candles, candles["ts"].max(), config_for(self.settings), self.settings.horizon)
        log.info("consumer: ready (group %s of %s)", bus.GROUP, bus.stream_key(self.settings.bar))

    def handle(self, client: redis.Redis, entries: list[tuple[str, dict[str, str]]], store) -> None:
        from feature_repo import jobs as feature_jobs  # noqa: PLC0415 (imports Feast)

        candles = bus.to_candles(entries)
        primary = primaries(load(self.settings.sources_path), self.settings.bar)
        mine = candles[[primary.get(s) == src for s, src in zip(candles["symbol"], candles["source"],
                                                                strict=True)]]
        frames = [(f"{source} {pair} (stream)", group.drop(columns=["pair", "published"]))
                  for (source, pair), group in mine.groupby(["source", "pair"])]
        if frames:
            feature_jobs.refresh(self.settings, self.redis_url, incoming=frames, store=store)
            lag = (pd.Timestamp.now(tz="UTC") - candles["published"].min()).total_seconds()
            self.latencies.append(lag)
            newest = mine["ts"].max()
            log.info("consumer: %d bar(s) of %d coin(s) online (newest %s), %.2f s after publish",
                     len(mine), mine["symbol"].nunique(), f"{newest:%Y-%m-%d %H:%M}", lag)
        for (source, pair), group in candles.groupby(["source", "pair"]):
            landing.land(self.settings.home, source, self.settings.bar, pair,
                         group.drop(columns=["pair", "published"]))
        bus.ack(client, self.settings.bar, [entry_id for entry_id, _ in entries])
        self.handled += len(entries)

