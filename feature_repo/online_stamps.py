"""When each coin's newest features reached the online store: one Redis hash per bar size.

Beside Feast's rows, every write to the online store (a materialize, a refresh, a streamed bar)
records per coin the event time of the row (``as_of``: the close of its bar) and when it was
written. The service reads it for its per-coin freshness gauge, ``cryptovol sources list`` for
the lag of each pair, and the freshness benchmark for "bar close → features online".
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from datetime import datetime

import pandas as pd
import redis


def stamps_key(bar: str) -> str:
    return f"cryptovol:online:{bar}"


def record(client: redis.Redis, bar: str, as_of: Mapping[str, datetime | pd.Timestamp],
           written: float | None = None) -> None:
    """Record that each symbol's row stamped ``as_of`` is online (``written``: epoch seconds)."""
    if not as_of:
        return
    written = time.time() if written is None else written
    client.hset(stamps_key(bar), mapping={
        symbol: json.dumps({"as_of": pd.Timestamp(ts).timestamp(), "written": written})
        for symbol, ts in as_of.items()})


def read(client: redis.Redis, bar: str) -> pd.DataFrame:
    """``symbol, as_of, written`` (UTC timestamps) of every coin recorded online."""
    rows = []
    for symbol, value in client.hgetall(stamps_key(bar)).items():
        try:
            body = json.loads(value)
            rows.append((symbol.decode(), body["as_of"], body["written"]))
        except (ValueError, KeyError, TypeError):
            continue  # a foreign value under our key: ignored, never fatal
    frame = pd.DataFrame(rows, columns=["symbol", "as_of", "written"])
    for col in ("as_of", "written"):
        frame[col] = pd.to_datetime(frame[col], unit="s", utc=True)
    return frame.sort_values("symbol", ignore_index=True)
