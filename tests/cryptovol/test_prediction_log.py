"""The prediction log: buffered, flushed in the background and on close, segments atomic."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pandas as pd

from cryptovol.prediction_log import COLUMNS, PredictionLog, read_predictions


def _rows(n: int, request: str, version: str = "1") -> list[dict]:
    now = datetime.now(UTC)
    return [{"request_id": request, "logged_at": now, "symbol": f"C{i}",
             "as_of": pd.Timestamp("2021-07-07", tz="UTC"), "bar": "1d", "horizon": 7,
             "model_name": "m", "model_version": version, "predicted_vol_per_bar": 0.01 * (i + 1),
             "predicted_vol": 0.01 * (i + 1) * 365**0.5} for i in range(n)]


def test_close_writes_everything_recorded(tmp_path):
    plog = PredictionLog(tmp_path, flush_seconds=3600)
    plog.record(_rows(3, "a"))
    plog.record(_rows(2, "b", version="2"))
    assert read_predictions(tmp_path).empty  # still in memory
    plog.close()
    logged = read_predictions(tmp_path)
    assert list(logged.columns) == COLUMNS and len(logged) == 5
    assert logged["request_id"].tolist() == ["a"] * 3 + ["b"] * 2
    assert logged["model_version"].tolist() == ["1"] * 3 + ["2"] * 2
    assert logged["predicted_vol_per_bar"].round(2).tolist() == [0.01, 0.02, 0.03, 0.01, 0.02]


def _logged_soon(folder, timeout: float = 30) -> int:
    """Rows on disk once the background thread wrote something (or the timeout passed)."""
    deadline = time.monotonic() + timeout
    while read_predictions(folder).empty and time.monotonic() < deadline:
        time.sleep(0.05)
    return len(read_predictions(folder))


def test_the_background_thread_flushes_on_time_and_when_full(tmp_path):
    plog = PredictionLog(tmp_path / "timed", flush_seconds=0.2)
    plog.record(_rows(1, "a"))
    assert _logged_soon(tmp_path / "timed") == 1
    plog.close()
    full = PredictionLog(tmp_path / "full", flush_seconds=3600, flush_rows=10)
    full.record(_rows(10, "x"))
    assert _logged_soon(tmp_path / "full") == 10
    full.close()
    assert len(list((tmp_path / "full").glob("part-*.parquet"))) == 1  # close had nothing left


def test_an_unwritable_folder_keeps_the_rows_for_the_next_try(tmp_path):
    blocker = tmp_path / "predictions"
    blocker.write_text("a file where the folder should be")
    plog = PredictionLog(blocker / "1d", flush_seconds=3600)
    plog.record(_rows(2, "a"))
    assert plog.flush() is None
    blocker.unlink()
    assert plog.flush() is not None and len(read_predictions(blocker / "1d")) == 2
    plog.close()
