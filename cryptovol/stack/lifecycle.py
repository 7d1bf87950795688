"""``stack up``, ``status`` and ``down``: start the components in order and wait for each one's
health, run the first pipeline when there is no champion yet, report, and stop exactly what was
started (PostgreSQL, and a Redis given by ``REDIS_URL``, are never stopped)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptovol import files
from cryptovol.errors import UserError
from cryptovol.processes import pid_alive
from cryptovol.stack import supervisor
from cryptovol.stack.config import Component, Stack
from cryptovol.stack.databases import ensure_databases

FIRST_STAGE = ("redis", "mlflow", "prefect")  # what the first pipeline needs
FAILED_STATES = {"FATAL", "EXITED", "STOPPED", "UNKNOWN"}


class StackError(UserError):
    """A component could not start; the message names it, says why and where its log is."""


@dataclass(frozen=True)
class ComponentStatus:
    name: str
    state: str  # supervisord's: RUNNING, STARTING, BACKOFF, FATAL, STOPPED, ... or "not started"
    pid: int | None
    url: str
    problem: str | None  # None: the health check passes
    log: Path

    @property
    def healthy(self) -> bool:
        return self.state == "RUNNING" and self.problem is None


def _tail(path: Path, lines: int = 3) -> str:
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return "(no log yet)"
    return " | ".join(line.strip() for line in text[-lines:])[-400:] or "(empty log)"


def write_env_file(stack: Stack) -> Path:
    """``stack.env``: the clients' environment, readable by its owner only (it holds credentials)."""
    body = "".join(f"{key}='{value}'\n" for key, value in stack.client_environment().items())
    files.write_text(stack.env_file, "# `set -a; . THIS_FILE; set +a` runs cryptovol against the "
                     "stack\n" + body)
    stack.env_file.chmod(0o600)
    return stack.env_file


def _wait_healthy(stack: Stack, component: Component, timeout: float) -> None:
    log = stack.logs / f"{component.name}.log"
    deadline = time.monotonic() + timeout
    problem = "not checked yet"
    while time.monotonic() < deadline:
        info = supervisor.processes(stack).get(component.name, {})
        state = info.get("statename", "UNKNOWN")
        if state in FAILED_STATES:
            raise StackError(f"{component.name} exited ({state}: {info.get('description', '')}): "
                             f"{_tail(log)} — log: {log}")
        if state == "RUNNING" and (problem := component.health()) is None:
            pid = info["pid"]  # with its start time: a recycled pid is never mistaken for it
            files.write_text(stack.folder / "pids" / f"{component.name}.pid",
                             f"{pid} {_start_time(pid)}\n")
            return
        time.sleep(1.0)
    raise StackError(f"{component.name} did not become healthy within {timeout:.0f} s ({problem}); "
                     f"last log lines: {_tail(log)} — log: {log}; raise CRYPTOVOL_STACK_START_TIMEOUT "
                     "on a busy machine")


def _start(stack: Stack, component: Component, say: Callable[[str], None]) -> None:
    info = supervisor.processes(stack).get(component.name, {})
    if info.get("statename") == "RUNNING" and component.health() is None:
        say(f"{component.name}: already running (pid {info['pid']})")
        return
    if info.get("statename") not in ("RUNNING", "STARTING", "BACKOFF"):
        if component.port is not None and not _port_free(stack.stack.host, component.port):
            setting = f"CRYPTOVOL_STACK_{component.name.upper()}_PORT"
            raise StackError(f"{component.name} cannot start: {stack.stack.host}:{component.port} is "
                             f"already in use by another process — stop it or set {setting}")
        supervisor.rpc(stack).startProcess(component.name, False)
    started = time.monotonic()
    _wait_healthy(stack, component, stack.stack.start_timeout)
    say(f"{component.name}: healthy after {time.monotonic() - started:.0f} s on {component.url}")


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def _has_champion(env: dict[str, str]) -> bool:
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    from cryptovol.settings import Settings

    settings = Settings(home=Path(env["CRYPTOVOL_HOME"]), bar=env["CRYPTOVOL_BAR"])
    client = MlflowClient(env["MLFLOW_TRACKING_URI"], registry_uri=env["MLFLOW_TRACKING_URI"])
    try:
        client.get_model_version_by_alias(settings.registered_model, "champion")
    except MlflowException:
        return False
    return True


def first_pipeline(stack: Stack, env: dict[str, str], say: Callable[[str], None]) -> None:
    """Run ``cryptovol pipeline`` against the stack (the service needs a champion to serve)."""
    log = stack.logs / "pipeline.log"
    say(f"pipeline: no @champion yet, running the first pipeline (log: {log})")
    cli = str(Path(sys.executable).parent / "cryptovol")
    started = time.monotonic()
    with log.open("a") as out:
        try:
            code = subprocess.run([cli, "pipeline"], env=env, stdout=out, stderr=subprocess.STDOUT,
                                  timeout=stack.stack.pipeline_timeout).returncode
        except subprocess.TimeoutExpired:
            raise StackError(f"the first pipeline did not end within {stack.stack.pipeline_timeout:.0f}"
                             f" s — log: {log}") from None
    if code != 0:
        raise StackError(f"the first pipeline failed (exit {code}): {_tail(log, 2)} — log: {log}")
    say(f"pipeline: done in {time.monotonic() - started:.0f} s")


def up(stack: Stack, say: Callable[[str], None], pipeline: bool = True) -> list[ComponentStatus]:
    """Start what is not running yet, in order, each healthy before the next; idempotent."""
    for folder in (stack.folder, stack.logs, stack.folder / "pids", stack.folder / "redis"):
        folder.mkdir(parents=True, exist_ok=True)
    created = ensure_databases(stack)
    say("databases: " + ", ".join(f"{name}{' (created)' if name in created else ''}"
                                  for name in stack.databases.values()))
    if not stack.owns_redis:
        from cryptovol.backends import Backend, problem

        redis = Backend("REDIS_URL", stack.redis_url, "redis")
        if (reason := problem(redis)) is not None:
            raise StackError(f"{redis.describe()}: {reason}")
        say("redis: using REDIS_URL (not started or stopped by the stack)")
    write_env_file(stack)
    env = {k: v for k, v in os.environ.items() if k != "CRYPTOVOL_SUPERVISED"}
    env.update(stack.server_environment())
    components = stack.components()
    if supervisor.start(stack, components, env, stack.stack.start_timeout):
        say(f"supervisord: started (config {supervisor.config_path(stack)})")
    for component in components:
        if component.name not in FIRST_STAGE:
            break
        _start(stack, component, say)
    if not _has_champion(env):
        if not pipeline:
            raise StackError("no @champion to serve: run `cryptovol pipeline` against the stack "
                             f"(set -a; . {stack.env_file}; set +a), then `cryptovol stack up` again")
        first_pipeline(stack, env, say)
    for component in components:
        if component.name not in FIRST_STAGE:
            _start(stack, component, say)
    return status(stack)


def status(stack: Stack) -> list[ComponentStatus]:
    infos = supervisor.processes(stack)
    found = []
    for component in stack.components():
        info = infos.get(component.name, {})
        state = info.get("statename", "not started")
        found.append(ComponentStatus(
            component.name, state, info.get("pid") or None, component.url,
            component.health() if state == "RUNNING" else state.lower(),
            stack.logs / f"{component.name}.log"))
    return found


def down(stack: Stack, timeout: float = 120.0) -> list[str]:
    """Stop every component and supervisord; returns what was stopped. Leftovers of a
    supervisord that was killed are stopped from their pid files."""
    recorded = _recorded_pids(stack)
    stopped = [name for name, info in supervisor.processes(stack).items()
               if info.get("statename") in ("RUNNING", "STARTING", "BACKOFF")]
    supervisor.shutdown(stack, timeout)
    leftovers = {name: record for name, record in recorded.items() if _alive(record)}
    for name, (pid, _) in leftovers.items():  # supervisord was killed: its children run on
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGTERM)
        stopped.append(name)
    deadline = time.monotonic() + timeout
    while any(_alive(record) for record in leftovers.values()):
        if time.monotonic() > deadline:
            for pid, _ in leftovers.values():
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pid, signal.SIGKILL)
            break
        time.sleep(0.2)
    for path in (stack.folder / "pids").glob("*.pid"):
        path.unlink(missing_ok=True)
    return sorted(set(stopped))


def _start_time(pid: int) -> str:
    """The kernel's start time of ``pid`` (``/proc/PID/stat`` field 22), "" if it is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def _recorded_pids(stack: Stack) -> dict[str, tuple[int, str]]:
    found = {}
    for path in (stack.folder / "pids").glob("*.pid"):
        with contextlib.suppress(OSError, ValueError):
            pid, started = path.read_text().split()
            found[path.stem] = (int(pid), started)
    return found


def _alive(record: tuple[int, str]) -> bool:
    """The recorded process still runs (same pid *and* start time)."""
    pid, started = record
    return pid_alive(pid) and _start_time(pid) == started


def describe(statuses: list[ComponentStatus]) -> str:
    return json.dumps([{"name": s.name, "state": s.state, "pid": s.pid, "url": s.url,
                        "healthy": s.healthy, "problem": s.problem} for s in statuses], indent=2)
