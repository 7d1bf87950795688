"""Per-coin freshness on ``/metrics``: how old each coin's online features are, and how long
after its bar's close they were written (the pipeline's own lag: a refresh, a pull, a stream).

A thread of each worker reads the online stamps (``feature_repo.online_stamps``, one
``HGETALL``) every ``interval`` seconds and sets two gauges per coin. The coins are the online
store's own (bounded by what the platform writes, never by what clients ask for, and capped).
"""

from __future__ import annotations

import logging
import threading
import time

import redis

from feature_repo import online_stamps
from serving import metrics

log = logging.getLogger(__name__)
MAX_SYMBOLS = 2000


class FreshnessGauges:
    def __init__(self, client: redis.Redis, bar: str, bar_seconds: float, interval: float = 10.0) -> None:
        self.client, self.bar, self.bar_seconds, self.interval = client, bar, bar_seconds, interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> FreshnessGauges:
        self._thread = threading.Thread(target=self._run, name="freshness-gauges", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.update()
            self._stop.wait(self.interval)

    def update(self) -> int:
        """Set the gauges from the stamps; returns the coins updated (0 when Redis is away)."""
        try:
            stamps = online_stamps.read(self.client, self.bar).head(MAX_SYMBOLS)
        except (redis.RedisError, OSError):
            return 0  # the readiness probe and the request path report an unavailable store
        now = time.time()
        for row in stamps.itertuples():
            as_of = row.as_of.timestamp()
            metrics.ONLINE_AGE.labels(symbol=row.symbol, bar=self.bar).set(
                round((now - as_of) / self.bar_seconds, 4))
            metrics.ONLINE_DELAY.labels(symbol=row.symbol, bar=self.bar).set(
                round(row.written.timestamp() - as_of, 3))
        return len(stamps)
