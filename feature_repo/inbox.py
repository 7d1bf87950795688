"""The inbox: candle files dropped into ``CRYPTOVOL_HOME/inbox`` wait there for a refresh.

- Files being written are left alone: names that start with ``.`` or end with ``.tmp`` /
  ``.part`` / ``.crdownload``. Write elsewhere (or under such a name) and rename into the inbox.
- A loaded file moves to ``inbox/loaded/<stamp>-<name>``; a file that cannot be read moves to
  ``inbox/failed/<stamp>-<name>`` with ``<stamp>-<name>.error.txt`` saying why. Nothing is
  deleted, and a file is never loaded twice from the inbox.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from cryptovol import files

IN_PROGRESS_SUFFIXES = (".tmp", ".part", ".crdownload")
LOADED, FAILED = "loaded", "failed"


def waiting(inbox: Path) -> list[Path]:
    """Files waiting in the inbox, oldest first (by modification time, then name)."""
    if not inbox.is_dir():
        return []
    found = [p for p in inbox.iterdir() if p.is_file() and not p.name.startswith(".")
             and not p.name.endswith(IN_PROGRESS_SUFFIXES)]
    return sorted(found, key=lambda p: (p.stat().st_mtime, p.name))


def move_aside(path: Path, inbox: Path, outcome: str, reason: str | None = None) -> Path:
    """Move a processed file to ``inbox/<outcome>/`` (with its error beside it if it failed)."""
    folder = inbox / outcome
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    target = folder / f"{stamp}-{path.name}"
    if reason is not None:
        files.write_text(folder / f"{target.name}.error.txt", reason + "\n")
    os.replace(path, target)
    return target
