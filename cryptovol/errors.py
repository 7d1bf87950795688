"""User errors: what went wrong in one line that names the file, field or setting, and the fix.

Raise a subclass of :class:`UserError` for anything the user can fix; the CLI prints its
message as one line (no traceback unless ``--verbose``). :func:`describe` turns the other
exceptions a user can cause (OS errors, invalid settings) into such a line too.
"""

from __future__ import annotations

import contextlib
import errno
import re
from collections.abc import Iterator
from pathlib import Path


class UserError(Exception):
    """Input, settings or environment the user can fix; the message says what and how."""


def describe(exc: BaseException) -> str | None:
    """One line for an error the user can act on, or ``None`` for a bug."""
    from pydantic import ValidationError

    if isinstance(exc, UserError | LookupError):
        return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, ValidationError):
        parts = []
        for e in exc.errors():
            name = ".".join(str(p) for p in e.get("loc", ())) or exc.title
            parts.append(f"setting {name} (env CRYPTOVOL_{name.upper()}): {e.get('msg')}")
        return "; ".join(parts)
    if isinstance(exc, OSError):
        return describe_os_error(exc)
    return None


def describe_os_error(exc: OSError, path: Path | str | None = None) -> str:
    """One line for an OS error: the path, the reason, and what to do about it."""
    where = exc.filename or path or "?"
    if exc.errno == errno.ENOSPC and exc.filename2:  # a copy (shutil): the destination filled
        where = exc.filename2
    temporary = re.fullmatch(r"\.(.+)\.[^.]+\.tmp", Path(str(where)).name)
    if temporary:  # name the file being written, not atomic_write's temporary
        where = Path(str(where)).parent / temporary.group(1)
    if isinstance(exc, PermissionError) or exc.errno in (errno.EACCES, errno.EPERM):
        hint = "permission denied; make it writable or point CRYPTOVOL_HOME at a folder you own"
    elif exc.errno == errno.EROFS:
        hint = "read-only file system; point CRYPTOVOL_HOME at a writable folder"
    elif exc.errno in (errno.ENOTDIR, errno.EEXIST) or isinstance(exc, NotADirectoryError):
        hint = "a file stands where a folder is needed; choose another CRYPTOVOL_HOME"
    elif exc.errno == errno.ENOSPC:
        hint = "no space left on the device; free some space and run again"
    elif isinstance(exc, FileNotFoundError):
        hint = "no such file or folder"
    else:
        hint = exc.strerror or str(exc)
    return f"{where}: {hint}"


@contextlib.contextmanager
def writing(folder: Path | str) -> Iterator[None]:
    """Name ``folder`` in an OS error raised in the block without a file name (a library's
    ``write`` on a full disk says only "No space left on device")."""
    try:
        yield
    except OSError as exc:
        if not exc.filename:
            exc.filename = str(folder)
        raise
