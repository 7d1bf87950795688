"""Child processes that never outlive cryptovol, and a supervisor that makes every stop prompt.

- :func:`die_with_parent` (Linux ``PR_SET_PDEATHSIG``) is passed as ``preexec_fn`` to the
  servers cryptovol starts (redis-server, the embedded Prefect API): if the cryptovol process
  dies, even by SIGKILL, the kernel sends them a signal, so none is left running as an orphan.
- :func:`supervise` runs a long command (pipeline, train, ingest, drift) in a child process and
  forwards SIGINT/SIGTERM to it. The child stops cleanly on its own (its ``finally`` blocks stop
  its servers); if it has not stopped ``grace`` seconds later — it may be deep inside a C
  library that only checks for signals when it returns — the supervisor kills it. Nothing
  stored is lost by that: every file is written atomically (``cryptovol.files``).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable

PR_SET_PDEATHSIG = 1
SUPERVISED_ENV = "CRYPTOVOL_SUPERVISED"
STOP_GRACE_S = 15.0


def die_with_parent(sig: int = signal.SIGTERM) -> Callable[[], None]:
    """A ``preexec_fn`` asking the kernel to send ``sig`` to the child when its parent dies."""
    libc_name = ctypes.util.find_library("c")

    def _set() -> None:
        if libc_name and sys.platform.startswith("linux"):
            ctypes.CDLL(libc_name, use_errno=True).prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)

    return _set


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def terminate(proc: subprocess.Popen, grace: float = 5.0, group: bool = False) -> None:
    """SIGTERM ``proc`` (or its whole process group), SIGKILL after ``grace`` seconds."""
    if proc.poll() is not None:
        return

    def send(sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if group:
                os.killpg(proc.pid, sig)
            else:
                proc.send_signal(sig)

    send(signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        send(signal.SIGKILL)
        proc.wait()


def supervise(argv: list[str], grace: float = STOP_GRACE_S) -> int:
    """Run ``python -m cryptovol.cli argv`` as a child; stop it within ``grace`` s of a signal."""
    env = {**os.environ, SUPERVISED_ENV: "1"}
    # its own process group: a Ctrl-C at the terminal reaches the supervisor only, which
    # forwards it once (a second SIGINT would interrupt the child's own clean-up)
    child = subprocess.Popen([sys.executable, "-m", "cryptovol.cli", *argv], env=env, process_group=0,
                             preexec_fn=die_with_parent(signal.SIGKILL))
    received: list[int] = []

    def forward(signum, frame) -> None:
        if not received:
            received.append(signum)
            with contextlib.suppress(ProcessLookupError):
                child.send_signal(signum)

    previous = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        while True:
            try:
                code = child.wait(timeout=0.2)
                break
            except subprocess.TimeoutExpired:
                pass
            if received:
                deadline = time.monotonic() + grace
                while child.poll() is None and time.monotonic() < deadline:
                    time.sleep(0.1)
                if child.poll() is None:
                    child.kill()
                    name = signal.Signals(received[0]).name
                    print(f"cryptovol: stopped by {name} (forced after {grace:.0f} s); files already "
                          "stored are complete: every write is atomic", file=sys.stderr)
                code = child.wait()
                break
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if code < 0:  # killed by a signal: the shell convention
        return 128 - code
    if received and received[0] == signal.SIGTERM and code == 130:
        return 143  # the child reports any interruption as 130; it was a SIGTERM
    return code
