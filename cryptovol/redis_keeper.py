"""The home's embedded redis-server lives exactly as long as some command of the home uses it.

Whoever needs the embedded online store (``online_redis`` without ``REDIS_URL``) takes a
*lease*: a shared ``flock`` on ``redis/users.lock``, held for as long as it uses the store and
released by the kernel when it exits — even by SIGKILL. The server itself is run by a small
*keeper* process of its own session (``python -m cryptovol.redis_keeper <folder>``), not by the
command that happened to start it: the keeper runs ``redis-server`` as its child (restarting it
if it dies) and stops it, with a snapshot, when no lease is left. So a ``serve`` that joined a
``train``'s server keeps its store when the train exits, and the reverse.

Joining, starting and stopping are serialized by ``redis/keeper.lock`` (an exclusive ``flock``):

- a joiner takes it, takes its lease, reuses the running keeper or starts one, releases it;
- a leaver releases its lease; if it was the last, it stops the keeper under the lock (so a
  clean exit leaves nothing running when the command returns);
- the keeper checks every :data:`POLL_S` (under the lock, never waiting for it) whether any
  lease is left: that is how the users killed without a clean exit are noticed.

The keeper records ``{"pid", "redis_pid", "url"}`` in ``redis/server.json``.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from cryptovol import files
from cryptovol.processes import pid_alive
from cryptovol.redis_server import RedisServer, RedisUnavailable, ping

log = logging.getLogger(__name__)
POLL_S = 0.25
JOIN_TIMEOUT_S = 120.0  # a keeper stopping holds the lock while redis writes its snapshot


def _paths(folder: Path) -> tuple[Path, Path, Path]:
    return folder / "keeper.lock", folder / "users.lock", folder / "server.json"


def read_state(folder: Path) -> dict:
    try:
        return json.loads((folder / "server.json").read_text())
    except (OSError, ValueError):
        return {}


def live_url(folder: Path) -> str | None:
    """URL of the home's embedded redis-server if its keeper runs and the server answers."""
    state = read_state(folder)
    url = state.get("url")
    return url if url and pid_alive(int(state.get("pid", -1))) and ping(url) else None


@contextlib.contextmanager
def _mutex(folder: Path, wait: bool = True, timeout: float = JOIN_TIMEOUT_S) -> Iterator[bool]:
    """Hold ``keeper.lock`` for the block; yields False (without waiting) when ``wait`` is off
    and another process holds it."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(_paths(folder)[0], "a") as handle:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not wait:
                    yield False
                    return
                if time.monotonic() > deadline:
                            raise RedisUnavailable(f"{handle.name}: another cryptovol command has held "
                                           f"the embedded Redis lock for {timeout:.0f} s") from None
                time.sleep(0.05)
        yield True  # released when the file is closed


def _no_users(folder: Path) -> bool:
    """Whether no lease is held (call under the mutex: then nobody can be joining)."""
    with open(_paths(folder)[1], "a") as users:
        try:
            fcntl.flock(users, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True


# ----- the users' side ------------------------------------------------------------------------
def join(folder: Path, start_timeout: float = 60.0) -> tuple[IO, str]:
    """Take a lease on the home's embedded Redis, starting its keeper if none runs; returns the
    open lease (keep it open while using the store) and the server's URL."""
    folder.mkdir(parents=True, exist_ok=True)
    lease = open(_paths(folder)[1], "a")  # noqa: SIM115 - held open for the lease's life
    try:
        with _mutex(folder):
            fcntl.flock(lease, fcntl.LOCK_SH)  # the keeper only holds it exclusively under the mutex
            if url := live_url(folder):
                log.info("using the home's redis-server at %s (kept while any command uses it)", url)
                return lease, url
            return lease, _start_keeper(folder, read_state(folder), start_timeout)
    except BaseException:
        lease.close()
        raise


def leave(folder: Path, lease: IO) -> None:
    """Release a lease; the last one out stops the keeper (and its redis-server) and waits for
    both to end — whether it stopped them or the keeper noticed first."""
    state = read_state(folder)  # the keeper we used (it may remove the file once we are gone)
    lease.close()
    with _mutex(folder) as held:
        if not held or not _no_users(folder):
            return
        pid, server = int(state.get("pid", -1)), int(state.get("redis_pid", -1))
        if pid > 0 and _running(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        while (_running(pid) or _running(server)) and time.monotonic() < deadline:
            time.sleep(0.05)


def _running(pid: int) -> bool:
    """Whether ``pid`` still runs. Our own child (a keeper this process started) is asked with
    ``waitpid``, which also reaps it; another process counts as ended once it is a zombie."""
    if pid <= 0:
        return False
    try:
        return os.waitpid(pid, os.WNOHANG)[0] != pid
    except ChildProcessError:
        pass
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _start_keeper(folder: Path, previous: dict, timeout: float) -> str:
    old_redis = int(previous.get("redis_pid", -1))
    deadline = time.monotonic() + 10
    while old_redis > 0 and pid_alive(old_redis) and time.monotonic() < deadline:
        time.sleep(0.05)  # a killed keeper's redis-server still writing its snapshot
    (folder / "server.json").unlink(missing_ok=True)
    with open(folder / "keeper.log", "a") as out:
        # its own session, no death signal: the keeper outlives the command that starts it
        proc = subprocess.Popen([sys.executable, "-m", "cryptovol.redis_keeper", str(folder)],
                                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = (folder / "keeper.log").read_text(errors="replace").strip().splitlines()[-1:]
            raise RedisUnavailable(f"the embedded redis-server did not start: "
                                   f"{tail[0] if tail else 'no message'} (see {folder / 'keeper.log'})")
        state = read_state(folder)
        if state.get("pid") == proc.pid and ping(state["url"], timeout=0.5):
            return state["url"]
        time.sleep(0.05)
    proc.terminate()
    raise RedisUnavailable(f"the embedded redis-server did not answer in {timeout:.0f} s "
                           f"(see {folder / 'keeper.log'})")


# ----- the keeper -----------------------------------------------------------------------------
def keep(folder: Path) -> int:
    """Run the home's redis-server until no lease is left or SIGTERM; restart it if it dies."""
    stop: list[int] = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, frame: stop.append(signum))
    server = RedisServer(folder).start()
    state = {"pid": os.getpid(), "redis_pid": server.process.pid, "url": server.url}
    files.write_json(folder / "server.json", state)
    try:
        while not stop:
            time.sleep(POLL_S)
            if server.process.poll() is not None and not stop:
                log.warning("redis-server exited with code %s: restarting it on port %s",
                            server.process.returncode, server.port)
                try:
                    server.start()
                except RedisUnavailable as exc:
                    log.error("%s", exc)
                    return 1
                files.write_json(folder / "server.json", {**state, "redis_pid": server.process.pid})
            with _mutex(folder, wait=False) as held:
                if held and _no_users(folder):
                    log.info("no command uses the store any more")
                    _shutdown(folder, server)
                    return 0
    finally:
        if stop:
            log.info("stopped by %s", signal.Signals(stop[0]).name)
        _shutdown(folder, server)
    return 0


def _shutdown(folder: Path, server: RedisServer) -> None:
    server.stop()
    if read_state(folder).get("pid") == os.getpid():
        (folder / "server.json").unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    logging.basicConfig(level=logging.INFO, format="%(asctime)s [%(process)d] %(message)s")
    return keep(Path(argv[0]))


if __name__ == "__main__":
    sys.exit(main())
