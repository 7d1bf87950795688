"""supervisord, the stack's process supervisor: its config file, its start, its XML-RPC API.

supervisord (``supervisor`` from PyPI) keeps each component running (restarted when it dies),
stops each one's whole process group, and rotates their logs. Credentials never go into its
config file: the servers read them from the environment supervisord inherits from
``cryptovol stack up``.
"""

from __future__ import annotations

import contextlib
import hashlib
import shlex
import subprocess
import sys
import time
import xmlrpc.client
from pathlib import Path

from cryptovol.processes import pid_alive
from cryptovol.settings import REPO_ROOT
from cryptovol.stack.config import Component, Stack


class SupervisorError(RuntimeError):
    pass


def socket_path(stack: Stack) -> Path:
    """The control socket: under the home when the path fits a Unix socket (108 bytes)."""
    path = stack.folder / "supervisor.sock"
    if len(str(path)) < 100:
        return path
    digest = hashlib.sha1(str(stack.folder).encode()).hexdigest()[:12]
    return Path("/tmp") / f"cryptovol-{digest}.sock"


def config_path(stack: Stack) -> Path:
    return stack.folder / "supervisord.conf"


def pid_file(stack: Stack) -> Path:
    return stack.folder / "supervisord.pid"


def _quote(value: str) -> str:
    return value.replace("%", "%%")


def render_config(stack: Stack, components: list[Component]) -> str:
    sock = socket_path(stack)
    lines = [
        "; written by `cryptovol stack up`: no credentials here (the servers read them from the",
        "; environment supervisord inherits)",
        "[unix_http_server]", f"file={sock}", "chmod=0700", "",
        "[supervisord]", f"logfile={stack.logs / 'supervisord.log'}", f"pidfile={pid_file(stack)}",
        "logfile_maxbytes=10MB", "logfile_backups=3", "loglevel=info", f"directory={REPO_ROOT}",
        f"childlogdir={stack.logs}", "nodaemon=false", "",
        "[rpcinterface:supervisor]",
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface", "",
        "[supervisorctl]", f"serverurl=unix://{sock}", "",
    ]
    for order, c in enumerate(components, start=1):  # stopped in reverse order on shutdown
        env = ",".join(f'{k}="{_quote(v)}"' for k, v in c.env.items())
        lines += [
            f"[program:{c.name}]", f"command={_quote(shlex.join(c.command))}",
            f"directory={REPO_ROOT}", f"priority={100 * order}", "autostart=false",
            "autorestart=true", "startsecs=3", "startretries=3", "stopsignal=TERM",
            "stopwaitsecs=40", "stopasgroup=true", "killasgroup=true", "redirect_stderr=true",
            f"stdout_logfile={stack.logs / (c.name + '.log')}", "stdout_logfile_maxbytes=20MB",
            "stdout_logfile_backups=3",
        ] + ([f"environment={env}"] if env else []) + [""]
    return "\n".join(lines)


def rpc(stack: Stack):
    """The ``supervisor`` namespace of the running supervisord's XML-RPC API."""
    from supervisor.xmlrpc import SupervisorTransport

    transport = SupervisorTransport(None, None, f"unix://{socket_path(stack)}")
    return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport).supervisor


def running(stack: Stack) -> bool:
    try:
        return rpc(stack).getState()["statename"] == "RUNNING"
    except (OSError, xmlrpc.client.Fault, xmlrpc.client.ProtocolError):
        return False


def daemon_pid(stack: Stack) -> int | None:
    try:
        pid = int(pid_file(stack).read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if pid_alive(pid) else None


def start(stack: Stack, components: list[Component], env: dict[str, str], timeout: float) -> bool:
    """Start supervisord with ``components`` (none of them started yet); False if it already ran.

    A running supervisord is told to re-read the config (a component added since is picked up).
    """
    from cryptovol import files

    stack.logs.mkdir(parents=True, exist_ok=True)
    files.write_text(config_path(stack), render_config(stack, components))
    if running(stack):
        api = rpc(stack)
        added, changed, removed = api.reloadConfig()[0]
        for name in added:
            api.addProcessGroup(name)
        return False
    command = [str(Path(sys.executable).parent / "supervisord"), "-c", str(config_path(stack))]
    out = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0:
        raise SupervisorError(f"supervisord did not start: {(out.stderr or out.stdout).strip()[-300:]}")
    deadline = time.monotonic() + timeout
    while not running(stack):
        if time.monotonic() > deadline:
            raise SupervisorError(f"supervisord did not answer within {timeout:.0f} s "
                                  f"(see {stack.logs / 'supervisord.log'})")
        time.sleep(0.2)
    return True


def processes(stack: Stack) -> dict[str, dict]:
    """name → supervisord's process info (statename, pid, description, ...); {} if not running."""
    if not running(stack):
        return {}
    return {info["name"]: info for info in rpc(stack).getAllProcessInfo()}


def shutdown(stack: Stack, timeout: float) -> None:
    """Stop every component (each process group), then supervisord; wait until it is gone."""
    pid = daemon_pid(stack)
    if running(stack):  # it may close the connection while shutting down
        with contextlib.suppress(OSError, xmlrpc.client.Fault, xmlrpc.client.ProtocolError):
            rpc(stack).shutdown()
    deadline = time.monotonic() + timeout
    while pid is not None and pid_alive(pid):
        if time.monotonic() > deadline:
            raise SupervisorError(f"supervisord (pid {pid}) still runs after {timeout:.0f} s")
        time.sleep(0.2)
