"""Cost of logging a forecast in the service's request path.

Times ``PredictionLog.record`` for 100,000 requests of 2 forecasts each (the background flusher
writing parquet segments meanwhile) against a floor measured in the same run: appending the same
dicts to a plain list. Target: well under a millisecond per request.

    uv run python benchmarks/prediction_log.py
"""

from __future__ import annotations

import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from cryptovol.prediction_log import PredictionLog, read_predictions

REQUESTS = 100_000


def rows(i: int) -> list[dict]:
    now = datetime.now(UTC)
    as_of = pd.Timestamp("2021-07-07", tz="UTC")
    return [{"request_id": f"r{i}", "logged_at": now, "symbol": s, "as_of": as_of, "bar": "1d",
             "horizon": 7, "model_name": "m", "model_version": "1", "predicted_vol_per_bar": 0.04,
             "predicted_vol": 0.76} for s in ("BTC", "ETH")]


def main() -> None:
    batches = [rows(i) for i in range(REQUESTS)]
    floor: list[dict] = []
    start = time.perf_counter()
    for batch in batches:
        floor.extend(batch)
    floor_s = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as tmp:
        plog = PredictionLog(Path(tmp), flush_seconds=0.5)
        start = time.perf_counter()
        for batch in batches:
            plog.record(batch)
        record_s = time.perf_counter() - start
        plog.close()
        logged = len(read_predictions(Path(tmp)))
    per_request_us = record_s / REQUESTS * 1e6
    print(f"record: {per_request_us:.2f} µs per request of 2 forecasts "
          f"({REQUESTS:,} requests, {logged:,} rows logged)")
    print(f"floor (list.extend): {floor_s / REQUESTS * 1e6:.2f} µs; ratio {record_s / floor_s:.1f}x")
    assert logged == 2 * REQUESTS


if __name__ == "__main__":
    main()
