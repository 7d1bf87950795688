"""The one way cryptovol writes a file under ``CRYPTOVOL_HOME`` (docs/architecture.md).

Every writer goes through :func:`atomic_write`: the content goes to a uniquely named temporary
file in the destination folder, is flushed and fsynced, then atomically renamed over the
destination (and the folder fsynced), so a crash or SIGKILL at any moment leaves either the
previous complete file or the new complete one — never a truncated file. Stores that several
commands update (the candle store) are changed under :func:`store_lock`, an inter-process lock,
and re-read under it, so concurrent writers both land.

Readers get :class:`StoreError` (one line naming the file and what to do) for a file that is
unreadable, instead of a library's traceback.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
from filelock import FileLock, Timeout

from cryptovol.errors import UserError, describe_os_error

LOCK_TIMEOUT_S = 600.0  # a concurrent ingest of years of hourly bars can hold the lock a while


class StoreError(UserError, RuntimeError):
    """A stored file cannot be read or written; the message names it and says what to do."""


def _umask() -> int:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    return 0o022


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not every file system lets a folder be fsynced
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write(path: Path, write: Callable[[Path], Any]) -> Path:
    """Write ``path`` all at once: ``write(tmp)`` fills a temporary file that then replaces it.

    The temporary file sits in the same folder (so the rename is atomic) under a unique name
    (so two writers never share it); it is removed if ``write`` fails.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    os.chmod(name, 0o666 & ~_umask())  # mkstemp makes 0600; a store file gets the usual mode
    tmp = Path(name)
    try:
        write(tmp)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)
    return path


def remove_stale_temporaries(path: Path) -> int:
    """Delete temporary files a killed writer of ``path`` left behind; returns how many.

    Call it only while holding ``path``'s :func:`store_lock`: then no live writer owns one.
    """
    removed = 0
    for tmp in Path(path).parent.glob(f".{Path(path).name}.*.tmp"):
        with contextlib.suppress(OSError):
            tmp.unlink()
            removed += 1
    return removed


def write_parquet(frame: pd.DataFrame, path: Path) -> Path:
    return atomic_write(path, lambda tmp: frame.to_parquet(tmp, index=False))


def write_text(path: Path, text: str) -> Path:
    return atomic_write(path, lambda tmp: tmp.write_text(text))


def write_bytes(path: Path, data: bytes) -> Path:
    return atomic_write(path, lambda tmp: tmp.write_bytes(data))


def write_json(path: Path, body: Any) -> Path:
    return write_text(path, json.dumps(body, indent=2, default=str))


def read_parquet(path: Path, columns: list[str] | None = None) -> pd.DataFrame:
    """Read a stored parquet, or raise :class:`StoreError` naming the file and the way out."""
    path = Path(path)
    try:
        if path.stat().st_size == 0:
            raise StoreError(f"{path}: empty file (0 bytes), left by an interrupted write of an older "
                             "version; move it away and run the command that builds it again")
        return pd.read_parquet(path, columns=columns)
    except StoreError:
        raise
    except OSError as exc:
        raise StoreError(describe_os_error(exc, path)) from exc
    except Exception as exc:  # pyarrow raises many types for a damaged file
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise StoreError(f"{path}: not a readable parquet file ({reason}); move it away and run "
                         "the command that builds it again") from exc


@contextlib.contextmanager
def store_lock(path: Path, timeout: float = LOCK_TIMEOUT_S) -> Iterator[None]:
    """Hold the inter-process lock of the store file ``path`` (``.<name>.lock`` beside it).

    The lock is an ``flock`` on its own file, so it is released by the kernel when its holder
    dies (even by SIGKILL): a killed command never leaves a store locked.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(path.parent / f".{path.name}.lock")
    try:
        lock.acquire(timeout=timeout)
    except Timeout:
        raise StoreError(f"{path}: another cryptovol command has held its lock for {timeout:.0f} s; "
                         "wait for it to finish and run again") from None
    except OSError as exc:
        raise StoreError(describe_os_error(exc, path)) from exc
    try:
        yield
    finally:
        lock.release()


def writable(folder: Path) -> bool:
    """Whether files can be created in ``folder`` (it exists and the user may write there)."""
    return folder.is_dir() and os.access(folder, os.W_OK | os.X_OK)


def append_jsonl(path: Path, record: Any) -> None:
    """Append one JSON line to ``path``: one ``write`` under the file's lock, then fsync. A line
    torn by a crash is never glued to the next record (it starts on a new line)."""
    line = (json.dumps(record, default=str) + "\n").encode()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with store_lock(path):
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":  # a torn line: start a new one
                line = b"\n" + line
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)


def read_jsonl(path: Path) -> tuple[list[Any], int]:
    """The records of a JSON-lines file, and how many torn lines were skipped."""
    path = Path(path)
    if not path.exists():
        return [], 0
    records, torn = [], 0
    for line in path.read_text(errors="replace").splitlines():
        try:
            records.append(json.loads(line))
        except ValueError:
            torn += 1
    return records, torn
