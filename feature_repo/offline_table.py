"""An offline table kept as parquet parts in one folder, so new rows are appended, not rewritten.

Every part carries a ``created`` column (when it was written). A row of a later part replaces
the row with the same key (``symbol, event_timestamp``) in an earlier one: that is how a
refresh corrects rows it recomputes, and it is the rule Feast applies too (the folder is the
path of the Feast ``FileSource``, ``created`` its ``created_timestamp_column``).

- :meth:`OfflineTable.replace` writes a whole new table (one ``base`` part) and drops the
  older parts; :meth:`OfflineTable.append` adds one ``part``; after ``MAX_PARTS`` parts the
  table is compacted into one base.
- Parts are written atomically (``cryptovol.files``: temporaries are hidden dot-files that
  pyarrow, pandas and DuckDB skip), under the table's inter-process lock.
- :meth:`OfflineTable.read` returns the current rows (one per key, the latest part's) without
  the ``created`` column.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from cryptovol import files

KEY = ["symbol", "event_timestamp"]
CREATED = "created"
TS_DTYPE = "datetime64[us, UTC]"
MAX_PARTS = 48  # appends before the parts are compacted into one base


class OfflineTable:
    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def __repr__(self) -> str:
        return f"OfflineTable({self.folder})"

    # ----- reading -------------------------------------------------------------------------
    def parts(self) -> list[Path]:
        """The visible parts, oldest first (names sort by their creation stamp)."""
        if not self.folder.is_dir():
            return []
        return sorted(p for p in self.folder.glob("*.parquet") if not p.name.startswith("."))

    def exists(self) -> bool:
        return bool(self.parts())

    def read(self, columns: list[str] | None = None) -> pd.DataFrame:
        """Current rows, one per key (the most recently created wins), sorted by key."""
        parts = self.parts()
        if not parts:
            raise files.StoreError(f"{self.folder}: no table here yet; run `cryptovol pipeline` "
                                   "(or `cryptovol refresh --rebuild`) to build it")
        wanted = None if columns is None else list(dict.fromkeys([*KEY, CREATED, *columns]))
        try:
            frames = [_read_part(p, wanted) for p in parts]
        except FileNotFoundError:  # compacted while we read: its rows are in a new base
            frames = [_read_part(p, wanted) for p in self.parts()]
        frame = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
        if len(frames) > 1:
            frame = frame.sort_values(CREATED, kind="stable").drop_duplicates(KEY, keep="last")
        frame = frame.sort_values(KEY, ignore_index=True).drop(columns=CREATED)
        return frame if columns is None else frame[columns]

    # ----- writing (each public writer takes the table's inter-process lock once) ----------
    def replace(self, frame: pd.DataFrame) -> Path:
        """Make ``frame`` the whole table: one new base part; older parts are removed."""
        with files.store_lock(self.folder):
            return self._replace(frame)

    def append(self, frame: pd.DataFrame) -> Path | None:
        """Add ``frame`` as a new part (its rows replace stored rows with the same key)."""
        if frame.empty:
            return None
        with files.store_lock(self.folder):
            path = self._write(frame, "part")
            if len(self.parts()) > MAX_PARTS:
                path = self._replace(self.read())
        return path

    def compact(self) -> Path:
        """Rewrite the table as one base part (same rows), dropping the superseded ones."""
        with files.store_lock(self.folder):
            return self._replace(self.read())

    def _replace(self, frame: pd.DataFrame) -> Path:
        old = self.parts()
        path = self._write(frame, "base")
        for part in old:
            part.unlink(missing_ok=True)
        for tmp in self.folder.glob(".*.tmp"):  # left by killed writers (we hold the lock)
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        return path

    def _write(self, frame: pd.DataFrame, kind: str) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        stamp = pd.Timestamp.now(tz="UTC")
        name = f"{stamp.strftime('%Y%m%dT%H%M%S%f')}-{time.monotonic_ns() % 10**9:09d}-{kind}.parquet"
        out = frame.copy()
        out["event_timestamp"] = out["event_timestamp"].astype(TS_DTYPE)
        out["symbol"] = out["symbol"].astype(object)
        out[CREATED] = pd.Series(stamp, index=out.index).astype(TS_DTYPE)
        return files.write_parquet(out, self.folder / name)



def _read_part(path: Path, columns: list[str] | None) -> pd.DataFrame:
    try:
        return pq.read_table(path, columns=columns).to_pandas()
    except FileNotFoundError:
        raise
    except Exception:
        return files.read_parquet(path, columns)  # raises StoreError naming the part


def feature_table(settings) -> OfflineTable:
    """The offline feature table of ``settings.bar`` (the Feast source's folder)."""
    return OfflineTable(settings.features_dir)


def target_table(settings) -> OfflineTable:
    """The target table of ``settings.bar`` and ``settings.horizon``."""
    return OfflineTable(settings.targets_dir)
