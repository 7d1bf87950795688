"""The platform's candle store: one parquet per bar size under ``CRYPTOVOL_HOME/candles``.

Rows are upserted by (symbol, ts) within a bar size, so ingesting the same file twice changes
nothing; quarantined rows are kept beside them with their reason and origin file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from feature_repo.loaders.candles import CANDLE_COLUMNS, TS_DTYPE

KEY = ["symbol", "ts"]


@dataclass(frozen=True)
class UpsertResult:
    inserted: int
    updated: int
    unchanged: int
    total: int


def candles_path(home: Path, bar: str) -> Path:
    return home / "candles" / f"candles_{bar}.parquet"


def quarantine_path(home: Path, bar: str) -> Path:
    return home / "candles" / f"quarantine_{bar}.parquet"


def read_candles(home: Path, bar: str) -> pd.DataFrame:
    path = candles_path(home, bar)
    if not path.exists():
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in CANDLE_COLUMNS}).astype(
            {"symbol": "object", "ts": TS_DTYPE, "source": "object"})
    return pd.read_parquet(path)


def upsert_frames(existing: pd.DataFrame, new: pd.DataFrame) -> tuple[pd.DataFrame, UpsertResult]:
    """New rows win over stored ones with the same (symbol, ts). Pure."""
    new = new[CANDLE_COLUMNS].astype({"ts": TS_DTYPE}).drop_duplicates(KEY, keep="last")
    existing = existing[CANDLE_COLUMNS].astype({"ts": TS_DTYPE})
    both = existing.merge(new, on=KEY, how="inner", suffixes=("_old", ""))
    values = [c for c in CANDLE_COLUMNS if c not in KEY]
    same = pd.Series(True, index=both.index)
    for col in values:
        a, b = both[f"{col}_old"], both[col]
        same &= (a == b) | (a.isna() & b.isna())
    merged = pd.concat([existing, new], ignore_index=True).drop_duplicates(KEY, keep="last")
    merged = merged.sort_values(KEY, ignore_index=True)
    return merged, UpsertResult(inserted=len(new) - len(both), updated=int((~same).sum()),
                                unchanged=int(same.sum()), total=len(merged))


def upsert(home: Path, bar: str, new: pd.DataFrame) -> UpsertResult:
    """Merge ``new`` candles into the store for ``bar``; rewrites the file only if it changes."""
    merged, result = upsert_frames(read_candles(home, bar), new)
    if result.inserted or result.updated:
        path = candles_path(home, bar)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        merged.to_parquet(tmp, index=False)
        tmp.replace(path)
    return result


def save_quarantine(home: Path, bar: str, quarantine: pd.DataFrame) -> int:
    """Add quarantined rows (deduplicated by origin, symbol, ts, reason); returns the total."""
    path = quarantine_path(home, bar)
    frames = [pd.read_parquet(path)] if path.exists() else []
    if len(quarantine):
        frames.append(quarantine.astype({"ts": TS_DTYPE}))
    if not frames:
        return 0
    merged = pd.concat(frames, ignore_index=True).drop_duplicates(
        ["origin", "symbol", "ts", "reason"], keep="last")
    path.parent.mkdir(parents=True, exist_ok=True)
    merged.to_parquet(path, index=False)
    return len(merged)


def coverage(candles: pd.DataFrame, quarantine: pd.DataFrame, bar: pd.Timedelta) -> pd.DataFrame:
    """Per symbol: first/last bar close, bars held, missing bars, gaps and quarantined rows. Pure."""
    ordered = candles.sort_values(KEY)
    step = ordered.groupby("symbol")["ts"].diff()
    missing = ((step / bar) - 1).where(step > bar, 0).fillna(0)
    table = ordered.assign(missing=missing, gap=step > bar).groupby("symbol").agg(
        first=("ts", "min"), last=("ts", "max"), bars=("ts", "size"),
        missing_bars=("missing", "sum"), gaps=("gap", "sum"))
    table = table.astype({"missing_bars": int, "gaps": int})
    q = quarantine.groupby("symbol").size() if len(quarantine) else pd.Series(dtype=int)
    table["quarantined"] = table.index.map(q).fillna(0).astype(int)
    return table.reset_index()
