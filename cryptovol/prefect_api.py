"""The Prefect API the flows report to: ``PREFECT_API_URL``, or one cryptovol runs itself.

Prefect 3 needs an API for every flow run. Without ``PREFECT_API_URL`` it would start its own
temporary server, with a 20 s start-up limit that a busy 2-core machine misses, and that stays
running as an orphan when its parent is killed. cryptovol starts the same server (uvicorn on
``prefect.server.api.server:create_app`` in ephemeral mode, its SQLite database under
``CRYPTOVOL_HOME/prefect``) itself instead: with a generous start-up timeout from the settings
(``CRYPTOVOL_PREFECT_STARTUP_TIMEOUT``), one retry on a fresh port, its log in a file, and the
kernel's promise to stop it if cryptovol dies (:func:`cryptovol.processes.die_with_parent`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from cryptovol.errors import UserError
from cryptovol.processes import die_with_parent, terminate
from cryptovol.redis_runtime import free_port

log = logging.getLogger(__name__)


class PrefectUnavailable(UserError, RuntimeError):
    """The Prefect API could not be started or reached; the message says why and where to look."""


def _server_command(port: int) -> list[str]:
    return [sys.executable, "-m", "uvicorn", "--factory", "prefect.server.api.server:create_app",
            "--host", "127.0.0.1", "--port", str(port), "--log-level", "error", "--lifespan", "on"]


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def start_server(prefect_home: Path, timeout: float, scheduling: bool = False
                 ) -> tuple[subprocess.Popen, str]:
    """Start the embedded Prefect API; returns the process and its API URL once it is healthy.

    ``scheduling``: a full server, whose scheduler service turns the deployments' crons into
    runs. Without it the server is ephemeral (lighter: no scheduler, no late-run or cancellation
    services), which is all a one-off flow run needs — and never fires a schedule.
    """
    prefect_home.mkdir(parents=True, exist_ok=True)
    log_path = prefect_home / "server.log"
    env = {**os.environ, "PREFECT_HOME": str(prefect_home), "PREFECT_UI_ENABLED": "0",
           "PREFECT__SERVER_FINAL": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    env.pop("PREFECT_API_URL", None)
    env.pop("PREFECT__SERVER_EPHEMERAL", None)
    if not scheduling:
        env["PREFECT__SERVER_EPHEMERAL"] = "1"
    port = free_port()
    url = f"http://127.0.0.1:{port}/api"
    with log_path.open("ab") as out:
        proc = subprocess.Popen(_server_command(port), env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True,
                                preexec_fn=die_with_parent())
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise PrefectUnavailable(f"the embedded Prefect API exited with code {proc.returncode} "
                                     f"(see {log_path})")
        if _healthy(url):
            return proc, url
        time.sleep(0.25)
    terminate(proc)
    raise PrefectUnavailable(f"the embedded Prefect API did not answer within {timeout:.0f} s "
                             f"(see {log_path}); raise CRYPTOVOL_PREFECT_STARTUP_TIMEOUT on a busy "
                             "machine, or set PREFECT_API_URL to a running Prefect server")


@contextlib.contextmanager
def prefect_api(api_url: str | None, prefect_home: Path, timeout: float = 180.0,
                attempts: int = 2, scheduling: bool = False) -> Iterator[str]:
    """Yield the URL of a Prefect API for the block: ``api_url``, or an embedded server
    (``scheduling``: one that fires the deployments' schedules, see :func:`start_server`).

    The embedded server is tried ``attempts`` times (a port taken between the check and the
    bind, or a start-up that timed out under load) and stopped when the block ends.
    """
    if api_url:
        if not _healthy(api_url):
            from cryptovol.backends import mask

            raise PrefectUnavailable(f"PREFECT_API_URL={mask(api_url)} does not answer; start that Prefect "
                                     "server, or unset PREFECT_API_URL to use an embedded one")
        yield api_url
        return
    error: PrefectUnavailable | None = None
    for attempt in range(1, attempts + 1):
        try:
            proc, url = start_server(prefect_home, timeout, scheduling)
            break
        except PrefectUnavailable as exc:
            error = exc
            log.warning("Prefect API start %d of %d failed: %s", attempt, attempts, exc)
    else:
        raise error  # type: ignore[misc]
    log.debug("embedded Prefect API at %s (pid %d)", url, proc.pid)
    # the embedded API has no UI and ends with the command: Prefect's "View at <url>" links
    # would be dead, so it gets no UI URL (PREFECT_UI_URL empty: no link is printed)
    overrides = {"PREFECT_API_URL": url, "PREFECT_UI_URL": ""}
    previous = {key: os.environ.get(key) for key in overrides}
    os.environ.update(overrides)
    try:
        with _prefect_settings(url):
            yield url
    finally:
        _drain_clients()
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        terminate(proc, grace=5.0, group=True)


def _drain_clients(timeout: float = 10.0) -> None:
    """Let Prefect's log and event senders deliver what they hold while the API still runs.

    Otherwise they try at exit, against a server that is gone, and retry for minutes.
    """
    if "prefect" not in sys.modules:
        return
    try:
        from prefect.events.worker import EventsWorker
        from prefect.logging.handlers import APILogWorker

        APILogWorker.drain_all(timeout=timeout)
        EventsWorker.drain_all(timeout=timeout)
    except Exception as exc:  # draining is best effort: never hide the real outcome
        log.debug("could not drain Prefect's clients: %s", exc)


@contextlib.contextmanager
def _prefect_settings(url: str) -> Iterator[None]:
    """Point an already imported Prefect at ``url`` too (it reads its settings at import)."""
    if "prefect" not in sys.modules:
        yield
        return
    from prefect.settings import PREFECT_API_URL, PREFECT_UI_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: url, PREFECT_UI_URL: ""}):
        yield
