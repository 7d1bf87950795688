"""Landing tables: every closed candle a source delivered, as the exchange said it.

One parquet per (source, bar, pair): ``CRYPTOVOL_HOME/sources/<name>/<bar>/<BASE>-<QUOTE>.parquet``,
upserted by bar (a restated candle replaces the old values) under the file's lock and written
atomically, one page at a time: a pull killed mid-way resumes from the newest landed bar.
What lands here is raw; the checks (quarantine) apply when a primary source's candles are
handed to the candle store, so a landing table also tells what an exchange sent that was
refused.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from cryptovol import files
from feature_repo.candle_store import UpsertResult, upsert_frames
from feature_repo.loaders.candles import CANDLE_COLUMNS, TS_DTYPE


def landing_dir(home: Path, source: str, bar: str) -> Path:
    return home / "sources" / source / bar


def landing_path(home: Path, source: str, bar: str, pair: str) -> Path:
    return landing_dir(home, source, bar) / f"{pair.replace('/', '-').replace(':', '_')}.parquet"


def empty() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="float64") for c in CANDLE_COLUMNS}).astype(
        {"symbol": "object", "ts": TS_DTYPE, "source": "object"})


def read(home: Path, source: str, bar: str, pair: str) -> pd.DataFrame:
    path = landing_path(home, source, bar, pair)
    return files.read_parquet(path) if path.exists() else empty()


def newest(home: Path, source: str, bar: str, pair: str) -> pd.Timestamp | None:
    """Close of the newest landed bar of ``pair`` (None: nothing landed yet)."""
    path = landing_path(home, source, bar, pair)
    if not path.exists():
        return None
    ts = files.read_parquet(path, columns=["ts"])["ts"]
    return ts.max() if len(ts) else None


def land(home: Path, source: str, bar: str, pair: str, candles: pd.DataFrame) -> UpsertResult:
    """Upsert ``candles`` into the pair's landing table; rewritten only when something changed."""
    path = landing_path(home, source, bar, pair)
    if candles.empty:
        return UpsertResult(0, 0, 0, 0)
    with files.store_lock(path):
        files.remove_stale_temporaries(path)
        merged, result = upsert_frames(read(home, source, bar, pair), candles)
        if result.inserted or result.updated:
            files.write_parquet(merged, path)
    return result
