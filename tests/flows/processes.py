"""Helpers for tests that start, stop and kill `cryptovol` commands as real processes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

CLI = str(Path(sys.executable).parent / "cryptovol")
# a loaded 2-core machine can be several times slower than an idle one: scale waits, not asserts
SLOW = float(os.environ.get("CRYPTOVOL_TEST_SLOWDOWN", "1"))


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in {"REDIS_URL", "MLFLOW_TRACKING_URI", "PREFECT_API_URL", "CRYPTOVOL_SUPERVISED",
                         "CRYPTOVOL_DATABASE_URL", "CRYPTOVOL_PREDICTION_LOG_URL"}}
    return {**env, "CRYPTOVOL_HOME": str(home), "COLUMNS": "200", **extra}


def run(args: list[str], env: dict[str, str], timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([CLI, *args], env=env, capture_output=True, text=True,
                          timeout=timeout * SLOW)


def processes_of(home: Path) -> list[tuple[int, str]]:
    """Live processes (pid, command) whose environment has CRYPTOVOL_HOME=home: every process
    a cryptovol command in that home started, servers included."""
    marker = f"CRYPTOVOL_HOME={home}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
            if marker in environ:
                state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
                if state != "Z":  # a zombie is dead, only not yet reaped by its parent
                    cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                    found.append((int(entry.name), cmd.strip()))
        except OSError:
            continue
    return found


def _parents() -> dict[int, int]:
    out = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                out[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    return out


def family(home: Path) -> dict[int, str]:
    """The processes of ``home`` and all their descendants (redis-server rewrites its
    environment with its process title, so it is found as a child, not by its environment)."""
    found = dict(processes_of(home))
    parents = _parents()
    grew = True
    while grew:
        children = {pid for pid, ppid in parents.items() if ppid in found and pid not in found}
        for pid in children:
            try:
                found[pid] = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
        grew = bool(children)
    return found


def alive(pids: dict[int, str]) -> list[tuple[int, str]]:
    left = []
    for pid, cmd in pids.items():
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            left.append((pid, cmd))
    return left


def wait_until_gone(home: Path, timeout: float, pids: dict[int, str] | None = None
                    ) -> list[tuple[int, str]]:
    """Wait for every process of ``home`` (and ``pids``, seen earlier) to end; returns those
    still alive after ``timeout``."""
    deadline = time.monotonic() + timeout * SLOW
    while True:
        left = processes_of(home) + alive(pids or {})
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.2)


def wait_ready(url: str, proc: subprocess.Popen, log: Path, budget_s: float = 300,
               path: str = "/readyz") -> None:
    """Wait until the server at ``url`` answers ``path`` (fails with its log if it exits or
    is not ready within ``budget_s`` x SLOW seconds)."""
    import httpx
    import pytest

    deadline = time.monotonic() + budget_s * SLOW
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"{url} exited early:\n{log.read_text()[-3000:]}"
        try:
            if httpx.get(f"{url}{path}", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    proc.kill()
    pytest.fail(f"service not ready in {budget_s * SLOW:.0f} s:\n{log.read_text()[-3000:]}")


LEASE_HOLDER = """
import sys, time
from pathlib import Path
from cryptovol.redis_runtime import online_redis
from cryptovol.settings import Settings
with online_redis(Settings(home=Path(sys.argv[1]), redis_url=None)) as url:
    print(url, flush=True)
    time.sleep(float(sys.argv[2]))
"""


def embedded_redis_user(home: Path, seconds: float = 3600) -> tuple[subprocess.Popen, str]:
    """A process using ``home``'s embedded Redis for ``seconds`` (as a `train` would: the first
    user starts the server); returns it and the server's URL once it is up."""
    proc = subprocess.Popen([sys.executable, "-c", LEASE_HOLDER, str(home), str(seconds)],
                            stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "CRYPTOVOL_HOME": str(home)})
    return proc, proc.stdout.readline().strip()
