"""Online features for the service: Feast reads them, a cache keeps them, Redis proves them fresh.

Feast's Python online read costs ~12 ms; the values only change when a bar closes. Each request
therefore asks Redis (one pipelined ``HMGET`` of Feast's own ``_ts:<view>`` field, ~0.1 ms,
keys built with Feast's key functions) for the write stamp of every requested coin, and reads
through Feast only the coins whose stamp changed since they were cached. The stamp is read
*before* the Feast read, so a write racing the read is caught by the next request: the cache
never serves a value older than the store's.

Every Redis call has a timeout. A failure raises :class:`OnlineStoreDown` and opens a short
circuit (answers fail fast, without piling up on a dead server) until a probe succeeds.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import pandas as pd
import redis
import redis.asyncio
from feast import FeatureStore
from feast.infra.online_stores.helpers import _redis_key
from feast.protos.feast.types.EntityKey_pb2 import EntityKey
from feast.protos.feast.types.Value_pb2 import Value
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import NoBackoff
from redis.retry import Retry

from feature_repo.store import online_features

RETRY_AFTER_SECONDS = 0.5  # a failed store is not asked again for this long
NO_RETRY = Retry(NoBackoff(), 0)  # redis-py retries 3 times with backoff by default: seconds


def _fail_fast(store: FeatureStore, redis_url: str) -> None:
    """Feast's own Redis client: no retries either (its timeouts come from the connection
    string, ``feature_repo.store.open_store(timeout=...)``)."""
    online = store._get_provider().online_store
    online._get_client(store.config.online_store).set_retry(NO_RETRY)


class OnlineStoreDown(RuntimeError):
    """Redis (the online store) did not answer in time."""


@dataclass(frozen=True)
class CachedRow:
    stamp: bytes  # Feast's write stamp of the row (the serialized event timestamp)
    row: dict  # symbol, as_of and the features, as Feast returned them


class OnlineFeatures:
    def __init__(self, store: FeatureStore, service: str, redis_url: str, timeout: float) -> None:
        self.store = store
        self.service = service
        projections = store.get_feature_service(service).feature_view_projections
        self._stamp_fields = [f"_ts:{p.name}".encode() for p in projections]
        self._project = store.project
        self._key_version = store.config.entity_key_serialization_version
        self.client = redis.Redis.from_url(redis_url, socket_timeout=timeout,
                                           socket_connect_timeout=timeout, retry=NO_RETRY)
        # the request path's stamp check: on the event loop, which must not wait on a socket
        self.aclient = redis.asyncio.Redis.from_url(redis_url, socket_timeout=timeout,
                                                    socket_connect_timeout=timeout,
                                                    retry=AsyncRetry(NoBackoff(), 0))
        _fail_fast(store, redis_url)
        self._cache: dict[str, CachedRow] = {}
        self._keys: dict[str, bytes] = {}  # symbol -> Feast's Redis key
        self._lock = threading.Lock()
        self._down_until = 0.0
        self._last_error = ""
        self.feast_reads = 0  # coins read through Feast (the cache's misses)

    def _key(self, symbol: str) -> bytes:
        key = self._keys.get(symbol)
        if key is None:
            entity = EntityKey(join_keys=["symbol"], entity_values=[Value(string_val=symbol)])
            if len(self._keys) > 10_000:  # clients may ask for any ticker: bounded
                self._keys.clear()
            key = self._keys[symbol] = _redis_key(self._project, entity, self._key_version)
        return key

    def _guard(self, call):
        if time.monotonic() < self._down_until:
            raise OnlineStoreDown(self._last_error)
        try:
            return call()
        except (redis.RedisError, OSError) as exc:
            raise self._down(exc) from None

    async def _aguard(self, call):
        if time.monotonic() < self._down_until:
            raise OnlineStoreDown(self._last_error)
        try:
            return await call()
        except (TimeoutError, redis.RedisError, OSError) as exc:
            raise self._down(exc) from None

    def _down(self, exc: BaseException) -> OnlineStoreDown:
        """Open the circuit for ``RETRY_AFTER_SECONDS``."""
        self._last_error = f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
        self._down_until = time.monotonic() + RETRY_AFTER_SECONDS
        return OnlineStoreDown(self._last_error)

    def ping(self) -> bool:
        """Is the online store answering? (readiness)"""
        try:
            return bool(self._guard(self.client.ping))
        except OnlineStoreDown:
            return False

    def stamps(self, symbols: list[str]) -> list[bytes | None]:
        """Each coin's write stamp (None: no row of the served view), from one pipelined
        ``HMGET`` (readiness; the request path uses :meth:`check_async`)."""
        def read():
            pipe = self.client.pipeline(transaction=False)
            for symbol in symbols:
                pipe.hmget(self._key(symbol), self._stamp_fields)
            return pipe.execute()

        return [None if any(v is None for v in r) else b"|".join(r) for r in self._guard(read)]

    async def check_async(self, symbols: list[str]) -> tuple[list[bytes | None], list[str]]:
        """Each coin's write stamp (None: unknown) and the coins to re-read (cache stale), from
        one pipelined ``HMGET`` on the event loop (redis.asyncio)."""
        async def read():
            async with self.aclient.pipeline(transaction=False) as pipe:
                for symbol in symbols:
                    pipe.hmget(self._key(symbol), self._stamp_fields)
                return await pipe.execute()

        replies = await self._aguard(read)
        return self._changed(symbols, [None if any(v is None for v in r) else b"|".join(r)
                                       for r in replies])

    def _changed(self, symbols: list[str], stamps: list[bytes | None]
                 ) -> tuple[list[bytes | None], list[str]]:
        with self._lock:
            changed = [s for s, stamp in zip(symbols, stamps, strict=True) if stamp is not None
                       and (s not in self._cache or self._cache[s].stamp != stamp)]
        return stamps, changed

    def refresh(self, symbols: list[str], stamps: dict[str, bytes]) -> None:
        """Read ``symbols`` through Feast into the cache, under the stamps read before."""
        fresh = self._guard(lambda: online_features(self.store, self.service, symbols))
        self.feast_reads += len(symbols)
        with self._lock:
            for row, symbol in zip(fresh.to_dict("records"), symbols, strict=True):
                if pd.notna(row["as_of"]):
                    self._cache[symbol] = CachedRow(stamps[symbol], row)

    def cached(self, symbols: list[str], stamps: list[bytes | None]) -> tuple[list[CachedRow], list[str]]:
        """The cached rows of ``symbols`` and the unknown ones (no stamp, or deleted between
        the stamp and the read: never silently dropped)."""
        rows, unknown = [], []
        with self._lock:
            for symbol, stamp in zip(symbols, stamps, strict=True):
                cached = self._cache.get(symbol)
                if stamp is None or cached is None:
                    unknown.append(symbol)
                else:
                    rows.append(cached)
        return rows, unknown
