"""The prediction log: every forecast the service returns, kept for the monitor.

Embedded default: parquet segments under ``CRYPTOVOL_HOME/predictions/<bar>/``; with
``CRYPTOVOL_PREDICTION_LOG_URL`` set, a PostgreSQL table (``cryptovol.prediction_log_pg``). Recording a
forecast only appends to an in-memory buffer under a lock (microseconds); a background thread
writes the buffer as a new segment every ``flush_seconds`` (or sooner once it holds
``flush_rows``), and :meth:`PredictionLog.close` — called by the service's shutdown hook on
SIGTERM/SIGINT — writes what is left, so nothing logged is lost on a clean stop. Each segment is
written atomically under a unique name (``part-<time ns>-<pid>.parquet``), so several workers
and a kill at any moment never leave a partial segment; a hard kill loses at most the last
``flush_seconds`` of forecasts.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

import pandas as pd

from cryptovol import files

log = logging.getLogger(__name__)
COLUMNS = ["request_id", "logged_at", "symbol", "as_of", "bar", "horizon", "model_name",
           "model_version", "predicted_vol_per_bar", "predicted_vol", "role"]
CHAMPION, CHALLENGER = "champion", "challenger"  # role: the answer, or a shadow forecast


def log_folder(home: Path, bar: str) -> Path:
    return home / "predictions" / bar


class ParquetSink:
    """Atomic parquet segments in one folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def write(self, frame: pd.DataFrame) -> str:
        path = self.folder / f"part-{time.time_ns()}-{os.getpid()}.parquet"
        try:
            return str(files.write_parquet(frame, path))
        except OSError as exc:
            raise OSError(exc.errno, files.describe_os_error(exc, path)) from exc

    def read(self, bar: str | None = None) -> pd.DataFrame:
        return read_predictions(self.folder)


MAX_BUFFERED = 2_000_000  # rows kept in memory while the sink is away, before the oldest go


class PredictionLog:
    def __init__(self, sink: Path | Any, flush_seconds: float = 2.0, flush_rows: int = 5000) -> None:
        self.sink = ParquetSink(sink) if isinstance(sink, str | Path) else sink
        self.dropped = 0
        self._buffer: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._flush_seconds = flush_seconds
        self._flush_rows = flush_rows
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="prediction-log", daemon=True)
        self._thread.start()

    def record(self, rows: list[dict[str, Any]]) -> None:
        """Add forecasts (dicts with :data:`COLUMNS`); cheap, never touches the disk."""
        with self._lock:
            self._buffer.extend(rows)
            full = len(self._buffer) >= self._flush_rows
        if full:
            self._wake.set()

    def flush(self) -> str | None:
        """Write what the buffer holds to the sink; returns where (None if empty or failed)."""
        with self._lock:
            rows, self._buffer = self._buffer, []
        if not rows:
            return None
        frame = pd.DataFrame(rows, columns=COLUMNS)
        frame["role"] = frame["role"].fillna(CHAMPION)
        try:
            return self.sink.write(frame)
        except Exception as exc:  # noqa: BLE001 - keep the rows for the next try, never lose them
            with self._lock:
                self._buffer[:0] = rows
                excess = len(self._buffer) - MAX_BUFFERED
                if excess > 0:
                    del self._buffer[:excess]
                    self.dropped += excess
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            log.error("prediction log not written (%s); %d rows kept for the next try%s", reason,
                      len(rows), f", {self.dropped} oldest dropped so far" if self.dropped else "")
            return None

    def _run(self) -> None:
        while not self._stopped.is_set():
            self._wake.wait(self._flush_seconds)
            self._wake.clear()
            self.flush()

    def close(self) -> None:
        """Stop the flusher and write what is left."""
        self._stopped.set()
        self._wake.set()
        self._thread.join(timeout=30)
        self.flush()


def read_predictions(folder: Path) -> pd.DataFrame:
    """Every logged forecast, oldest first (segments a killed writer never finished are skipped:
    they are hidden temporaries, never ``part-*`` files)."""
    parts = sorted(Path(folder).glob("part-*.parquet"))
    if not parts:
        return pd.DataFrame(columns=COLUMNS)
    frame = pd.concat([files.read_parquet(p) for p in parts], ignore_index=True)
    if "role" not in frame:  # segments written before shadow scoring: answers only
        frame["role"] = CHAMPION
    frame["role"] = frame["role"].fillna(CHAMPION)
    return frame.sort_values("logged_at", kind="stable", ignore_index=True)


def sink_for(settings) -> ParquetSink | Any:
    """The configured backend: PostgreSQL with ``CRYPTOVOL_PREDICTION_LOG_URL`` (or the platform
    database, ``CRYPTOVOL_DATABASE_URL``), else parquet."""
    if settings.prediction_log_secret is not None:
        from cryptovol.prediction_log_pg import PostgresSink

        return PostgresSink(settings.prediction_log_secret.get_secret_value())
    return ParquetSink(log_folder(settings.home, settings.bar))
