"""What the service tells a load balancer and its operators about the online store.

- :func:`check` decides readiness: the store answers *and* holds a row of the served feature view
  for every coin each served model was trained on. An empty store (a Redis restarted without its
  data, a store never materialized) is not ready, with the reason; ``/readyz`` answers it in its
  body (``serving.http``) through :data:`LAST`, this worker's latest verdict.
- :class:`OutageLog` keeps an outage to a few log lines: one when it starts, one every
  :data:`SUMMARY_EVERY_S` while it lasts, one when it ends — each with the count of requests
  answered 503 — instead of a line per request.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable

from serving.online import OnlineFeatures, OnlineStoreDown
from training.champion import ChampionModel

log = logging.getLogger("serving.readiness")
SUMMARY_EVERY_S = 60.0
MISSING = "online features missing (store empty or not materialized)"
FIX = "run `cryptovol refresh --rebuild` (or let the refresh schedule write them)"
LAST: dict[str, str] = {"reason": "starting: the model is loading"}


def _names(symbols: list[str], shown: int = 8) -> str:
    more = f" and {len(symbols) - shown} more" if len(symbols) > shown else ""
    return ", ".join(symbols[:shown]) + more


def check(online: OnlineFeatures, champions: Iterable[ChampionModel]) -> bool:
    """Ready or not (the reason goes to :data:`LAST`)."""
    try:
        reasons = []
        for champion in champions:
            coins = champion.forecaster.symbols
            missing = [s for s, stamp in zip(coins, online.stamps(coins), strict=True) if stamp is None]
            if missing:
                reasons.append(f"{MISSING} for {len(missing)} of {len(coins)} coins of "
                               f"{champion.name} v{champion.version}: {_names(missing)}")
    except OnlineStoreDown as exc:
        reasons = [f"the online feature store (Redis) does not answer ({exc})"]
    LAST["reason"] = "; ".join(reasons + ([FIX] if reasons and MISSING in reasons[0] else []))
    return not reasons


class OutageLog:
    """Counts the 503s of an outage and logs its start, its progress and its end."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.down_since: float | None = None
        self.count = 0
        self._summary_at = 0.0

    def failed(self, reason: str) -> None:
        now = time.monotonic()
        with self._lock:
            self.count += 1
            if self.down_since is None:
                self.down_since, self._summary_at = now, now
                log.warning("online store unavailable (%s): answering 503 until it is back", reason)
            elif now - self._summary_at >= SUMMARY_EVERY_S:
                self._summary_at = now
                log.warning("online store still unavailable after %.0f s (%s): %d requests "
                            "answered 503 so far", now - self.down_since, reason, self.count)

    def ok(self) -> None:
        if self.down_since is None:  # the common path: no lock
            return
        with self._lock:
            if self.down_since is None:
                return
            log.warning("online store back after %.1f s: %d requests were answered 503",
                        time.monotonic() - self.down_since, self.count)
            self.down_since, self.count = None, 0
