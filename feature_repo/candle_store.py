"""The platform's candle store: one parquet per bar size under ``CRYPTOVOL_HOME/candles``.

Rows are upserted by (symbol, ts) within a bar size, so ingesting the same file twice changes
nothing; quarantined rows are kept beside them with their reason and origin file.

Writers take the store's inter-process lock, re-read the files under it and replace them
atomically (``cryptovol.files``): two ingests at once both land, a killed one leaves the
previous complete store, and a file is rewritten only when its content changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from cryptovol import files
from feature_repo.loaders.candles import CANDLE_COLUMNS, TS_DTYPE

KEY = ["symbol", "ts"]


@dataclass(frozen=True)
class UpsertResult:
    inserted: int
    updated: int
    unchanged: int
    total: int
    # per symbol, the earliest bar that was inserted or changed (what a refresh recomputes from)
    changed_from: dict[str, pd.Timestamp] = field(default_factory=dict)

    @property
    def since(self) -> pd.Timestamp | None:
        """The earliest bar inserted or changed, over all symbols (None: nothing changed)."""
        return min(self.changed_from.values()) if self.changed_from else None


def candles_path(home: Path, bar: str) -> Path:
    return home / "candles" / f"candles_{bar}.parquet"


def quarantine_path(home: Path, bar: str) -> Path:
    return home / "candles" / f"quarantine_{bar}.parquet"


def read_candles(home: Path, bar: str) -> pd.DataFrame:
    path = candles_path(home, bar)
    if not path.exists():
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in CANDLE_COLUMNS}).astype(
            {"symbol": "object", "ts": TS_DTYPE, "source": "object"})
    return files.read_parquet(path)


def read_quarantine(home: Path, bar: str) -> pd.DataFrame:
    path = quarantine_path(home, bar)
    return files.read_parquet(path) if path.exists() else pd.DataFrame()


def upsert_frames(existing: pd.DataFrame, new: pd.DataFrame) -> tuple[pd.DataFrame, UpsertResult]:
    """New rows win over stored ones with the same (symbol, ts). Pure."""
    new = new[CANDLE_COLUMNS].astype({"ts": TS_DTYPE}).drop_duplicates(KEY, keep="last")
    existing = existing[CANDLE_COLUMNS].astype({"ts": TS_DTYPE})
    both = existing.merge(new, on=KEY, how="right", suffixes=("_old", ""),
                          indicator=True)
    values = [c for c in CANDLE_COLUMNS if c not in KEY]
    same = both["_merge"].eq("both")
    for col in values:
        a, b = both[f"{col}_old"], both[col]
        same &= (a == b) | (a.isna() & b.isna())
    changed = both.loc[~same, KEY]
    merged = pd.concat([existing, new], ignore_index=True).drop_duplicates(KEY, keep="last")
    merged = merged.sort_values(KEY, ignore_index=True)
    inserted = int(both["_merge"].eq("right_only").sum())
    return merged, UpsertResult(
        inserted=inserted, updated=len(changed) - inserted, unchanged=int(same.sum()),
        total=len(merged), changed_from=changed.groupby("symbol")["ts"].min().to_dict())


def merge_quarantine(existing: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """Stored plus new quarantined rows, one per (origin, symbol, ts, reason). Pure."""
    frames = [f for f in (existing, new.astype({"ts": TS_DTYPE}) if len(new) else new) if len(f)]
    if not frames:
        return pd.DataFrame()
    return pd.concat(frames, ignore_index=True).drop_duplicates(
        ["origin", "symbol", "ts", "reason"], keep="last").reset_index(drop=True)


def store(home: Path, bar: str, new: pd.DataFrame, quarantine: pd.DataFrame | None = None
          ) -> UpsertResult:
    """Upsert ``new`` candles and add ``quarantine`` rows; returns what changed in the candles.

    A load that changes nothing takes no lock and writes nothing (so it also works on a
    read-only home). Otherwise both files are re-read under the store's lock and each is
    replaced atomically if its content changes.
    """
    quarantine = quarantine if quarantine is not None else pd.DataFrame()
    _, result = upsert_frames(read_candles(home, bar), new)
    stored_q = read_quarantine(home, bar)
    if not (result.inserted or result.updated) and \
            len(merge_quarantine(stored_q, quarantine)) == len(stored_q):
        return result
    path = candles_path(home, bar)
    with files.store_lock(path):
        for stale in (path, quarantine_path(home, bar)):
            files.remove_stale_temporaries(stale)
        merged, result = upsert_frames(read_candles(home, bar), new)
        if result.inserted or result.updated:
            files.write_parquet(merged, path)
        stored_q = read_quarantine(home, bar)
        combined = merge_quarantine(stored_q, quarantine)
        if len(combined) != len(stored_q):
            files.write_parquet(combined, quarantine_path(home, bar))
    return result


def upsert(home: Path, bar: str, new: pd.DataFrame) -> UpsertResult:
    """Merge ``new`` candles into the store for ``bar``; rewrites the file only if it changes."""
    return store(home, bar, new)


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
