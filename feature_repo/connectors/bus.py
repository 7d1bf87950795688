"""The bar bus: closed bars on a Redis Stream, from the streamers to the feature consumer.

Redis is already the online store, so the bus adds no server. (At scale-out, a Kafka topic
keyed by pair takes this role: ``publish`` becomes an idempotent producer, the consumer group
a Kafka consumer group committing offsets after the push; see docs/scaling.md.)

Exactly once, end to end:
- **publish**: one Lua script appends the bar to the stream *and* moves the pair's watermark
  (the newest close published, ``cryptovol:published:<source>:<bar>``) — atomically, and only if
  the bar is newer than the watermark. A streamer that restarts, or publishes a bar twice,
  adds nothing.
- **consume**: the consumer group ``features`` hands each entry to one consumer; the consumer
  acknowledges (``XACK``) only after the bar is in the candle store and online. Killed before
  that, it reads its pending entries again on restart (``XREADGROUP ... 0``) and the upsert
  by (symbol, bar) makes the second delivery a no-op; a consumer that never comes back has its
  entries claimed by another (``XAUTOCLAIM``).
"""

from __future__ import annotations

import socket

import pandas as pd
import redis

from feature_repo.loaders.candles import CANDLE_COLUMNS, TS_DTYPE

GROUP = "features"
FIELDS = ["source", "pair", "symbol", "close_ms", "open", "high", "low", "close", "volume",
          "quote_volume"]
PUBLISH = """
local last = redis.call('HGET', KEYS[2], ARGV[1])
if last and tonumber(last) >= tonumber(ARGV[2]) then return false end
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[3], '*', unpack(ARGV, 4))
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return id
"""


def stream_key(bar: str) -> str:
    return f"cryptovol:bars:{bar}"


def watermark_key(source: str, bar: str) -> str:
    return f"cryptovol:published:{source}:{bar}"


def consumer_name() -> str:
    """Stable across restarts on one host, so a restarted consumer finds its pending entries."""
    return f"consumer-{socket.gethostname()}"


def message(source: str, pair: str, row: pd.Series) -> dict[str, str]:
    """A canonical candle row as the fields of a stream entry (floats as exact reprs)."""
    close_ms = int(pd.Timestamp(row["ts"]).value // 1_000_000)
    body = {"source": source, "pair": pair, "symbol": row["symbol"], "close_ms": str(close_ms)}
    for col in ("open", "high", "low", "close", "volume", "quote_volume"):
        body[col] = repr(float(row[col]))
    return body


async def publish(client, bar: str, source: str, pair: str, row: pd.Series, maxlen: int) -> str | None:
    """Append a closed bar unless the pair's watermark has it already (``redis.asyncio``
    client); returns the entry id, or None for a bar published before."""
    body = message(source, pair, row)
    args = [pair, body["close_ms"], str(maxlen)]
    for key, value in body.items():
        args += [key, value]
    entry = await client.eval(PUBLISH, 2, stream_key(bar), watermark_key(source, bar), *args)
    return entry.decode() if isinstance(entry, bytes) else entry


async def watermarks(client, source: str, bar: str) -> dict[str, int]:
    """pair → close (ms) of the newest bar published."""
    raw = await client.hgetall(watermark_key(source, bar))
    return {k.decode(): int(v) for k, v in raw.items()}


def ensure_group(client: redis.Redis, bar: str) -> None:
    """The consumer group (from the stream's first entry, creating the stream if needed)."""
    try:
        client.xgroup_create(stream_key(bar), GROUP, id="0", mkstream=True)
    except redis.ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


def read(client: redis.Redis, bar: str, consumer: str, pending: bool, count: int = 1000,
         block_ms: int = 1000) -> list[tuple[str, dict[str, str]]]:
    """Entries for ``consumer``: its own unacknowledged ones (``pending``), else new ones."""
    reply = client.xreadgroup(GROUP, consumer, {stream_key(bar): "0" if pending else ">"},
                              count=count, block=None if pending else block_ms)
    return [(entry_id.decode(), {k.decode(): v.decode() for k, v in fields.items()})
            for _, entries in reply or [] for entry_id, fields in entries if fields]


def claim_abandoned(client: redis.Redis, bar: str, consumer: str, idle_ms: int = 60_000,
                    count: int = 1000) -> list[tuple[str, dict[str, str]]]:
    """Entries another consumer left unacknowledged for ``idle_ms``, now ours."""
    reply = client.xautoclaim(stream_key(bar), GROUP, consumer, min_idle_time=idle_ms,
                              start_id="0-0", count=count)
    entries = reply[1] if len(reply) > 1 else []
    return [(entry_id.decode(), {k.decode(): v.decode() for k, v in fields.items()})
            for entry_id, fields in entries if fields]


def ack(client: redis.Redis, bar: str, ids: list[str]) -> None:
    if ids:
        client.xack(stream_key(bar), GROUP, *ids)


def to_candles(entries: list[tuple[str, dict[str, str]]]) -> pd.DataFrame:
    """Stream entries → canonical candles (``source`` = the source's name), with ``pair`` and the
    entry's publish time (``published``, from its id). Pure."""
    rows = [{**fields, "published": int(entry_id.split("-")[0])} for entry_id, fields in entries]
    frame = pd.DataFrame(rows, columns=[*FIELDS, "published"])
    out = pd.DataFrame({
        "symbol": frame["symbol"],
        "ts": pd.to_datetime(frame["close_ms"].astype("int64"), unit="ms", utc=True).astype(TS_DTYPE),
        **{c: frame[c].astype(float) for c in ("open", "high", "low", "close", "volume", "quote_volume")},
        "market_cap": float("nan"), "source": frame["source"],
    })[CANDLE_COLUMNS]
    out["pair"] = frame["pair"]
    out["published"] = pd.to_datetime(frame["published"], unit="ms", utc=True)
    return out
