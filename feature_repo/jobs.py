"""Feature-side stages, callable without Prefect: build features, materialize, refresh.

(Loading candle files: ``ingest.py``; the incremental recomputation: ``refresh.py``.)
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd
import redis

from cryptovol import files
from cryptovol.settings import Settings
from feature_repo import candle_store, inbox, online_stamps
from feature_repo import store as feast_store
from feature_repo.ingest import ingest, ingest_frames
from feature_repo.loaders.candles import CandleError
from feature_repo.offline_table import feature_table, target_table
from feature_repo.refresh import push_online, update_tables
from feature_repo.transforms.config import config_for
from feature_repo.transforms.features import compute_features
from feature_repo.transforms.targets import compute_targets

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FeaturesResult:
    candles: int
    feature_rows: int
    target_rows: int
    symbols: int
    first: datetime
    last: datetime


def build_features(settings: Settings) -> FeaturesResult:
    """Candle store → offline feature table and target table (parquet)."""
    candles = candle_store.read_candles(settings.home, settings.bar)
    if candles.empty:
        raise LookupError(f"no {settings.bar} candles in {settings.home / 'candles'}: "
                          f"run `cryptovol ingest PATH --bar {settings.bar}` first")
    features = compute_features(candles, config_for(settings))
    targets = compute_targets(candles, settings.bar, settings.horizon)
    feature_table(settings).replace(features)
    target_table(settings).replace(targets)
    for old in (settings.home / "features").glob(f"*_{settings.bar}*.parquet"):
        old.unlink(missing_ok=True)  # single-file tables of releases before the parted ones
    log.info("features: %d rows, targets: %d rows -> %s", len(features), len(targets),
             settings.features_dir.parent)
    return FeaturesResult(
        candles=len(candles), feature_rows=len(features), target_rows=len(targets),
        symbols=features["symbol"].nunique(),
        first=features["event_timestamp"].min().to_pydatetime(),
        last=features["event_timestamp"].max().to_pydatetime(),
    )


def apply_and_materialize(settings: Settings, redis_url: str) -> dict[str, datetime]:
    """Register the Feast objects and load each symbol's newest features into Redis."""
    store = feast_store.open_store(settings, redis_url)
    feast_store.apply(store, settings)
    latest = feast_store.materialize_latest(
        store, settings.bar, feature_table(settings).read(["symbol", "event_timestamp"]))
    online_stamps.record(redis.Redis.from_url(redis_url), settings.bar, latest)
    log.info("materialized %d symbols into the online store", len(latest))
    return latest


@dataclass(frozen=True)
class RefreshResult:
    loaded: tuple[str, ...]  # candle files read
    failed: dict[str, str]  # inbox files that could not be read -> why (moved to inbox/failed)
    new_bars: int
    updated_bars: int
    since: datetime | None  # rows stamped from here on were recomputed (None: nothing new)
    feature_rows: int
    online: dict[str, datetime]  # symbol -> as-of of the row written to the online store
    rebuilt: bool = False
    inputs: str = "file"  # what ``loaded`` names: files, or connector feeds (source and pair)

    def describe(self) -> str:
        files_read = f"{len(self.loaded)} {self.inputs}(s) read" + (
            f", {len(self.failed)} unreadable" if self.failed else "")
        if self.rebuilt:
            return (f"{files_read}; {self.new_bars} new bars; full rebuild: {self.feature_rows:,} "
                    f"feature rows, {len(self.online)} symbols online")
        if self.since is None:
            return f"{files_read}; nothing new: the features already cover every stored bar"
        newest = max(self.online.values()) if self.online else None
        return (f"{files_read}; {self.new_bars} new, {self.updated_bars} corrected bars; "
                f"{self.feature_rows:,} feature rows recomputed from {self.since:%Y-%m-%d %H:%M}; "
                f"{len(self.online)} symbols online" +
                (f" (newest bar {newest:%Y-%m-%d %H:%M})" if newest else ""))


def refresh(settings: Settings, redis_url: str, paths: list[str] | None = None,
            rebuild: bool = False, incoming: list[tuple[str, pd.DataFrame]] | None = None,
            store=None) -> RefreshResult:
    """New candles → candle store → changed rows → offline + online.

    The candles are ``incoming`` frames from a connector (``(origin, canonical candles)``,
    checked like a file), else the files ``paths``, else the inbox's. ``store``: an open Feast
    store to reuse (a long-running consumer). Refreshes of one bar size run one at a time (a
    lock). What a killed refresh left undone is picked up by the next one: the bars the
    features do not cover yet, and a pending marker for corrected bars, written as soon as the
    candles are stored and cleared once the online store has the new rows.
    """
    with files.store_lock(settings.features_dir.parent / f"refresh_{settings.bar}"):
        inputs = "feed" if incoming else "file"
        if incoming:
            result = ingest_frames(settings, incoming, settings.bar)
            loaded, failed, stored = tuple(o for o, _ in incoming), {}, result.stored
        else:
            loaded, failed, stored = _load(settings, paths)
        pending = _pending_path(settings)
        if stored is not None and stored.since is not None:
            _mark_pending(pending, stored.since)
        inserted = stored.inserted if stored else 0
        updated = stored.updated if stored else 0
        if rebuild or not feature_table(settings).exists():
            built = build_features(settings)
            online = apply_and_materialize(settings, redis_url)
            pending.unlink(missing_ok=True)
            return RefreshResult(loaded, failed, inserted, updated, None, built.feature_rows,
                                 online, rebuilt=True, inputs=inputs)
        candles = candle_store.read_candles(settings.home, settings.bar)
        since = _since(settings, candles, pending)
        if since is None:
            return RefreshResult(loaded, failed, inserted, updated, None, 0, {}, inputs=inputs)
        fresh = update_tables(settings, candles, since)
        store = store or feast_store.open_store(settings, redis_url)
        online = push_online(store, settings.bar, fresh.features)
        online_stamps.record(redis.Redis.from_url(redis_url), settings.bar, online)
        pending.unlink(missing_ok=True)
        log.info("refresh: %d symbols written to the online store", len(online))
        return RefreshResult(loaded, failed, inserted, updated, since.to_pydatetime(),
                             len(fresh.features), {s: t.to_pydatetime() for s, t in online.items()},
                             inputs=inputs)


def _load(settings: Settings, paths: list[str] | None):
    """Upsert the given files, or the inbox's (each moved aside once read or found unreadable)."""
    if paths:
        result = ingest(settings, paths, bar=settings.bar)
        return tuple(paths), {}, result.stored
    waiting = inbox.waiting(settings.inbox)
    if not waiting:
        return (), {}, None
    failed: dict[str, str] = {}
    try:
        result = ingest(settings, [str(p) for p in waiting], bar=settings.bar,
                        on_error=lambda path, exc: failed.__setitem__(str(path), str(exc)))
    except CandleError:  # not one of them readable (each is in ``failed``)
        result = None
    for path in waiting:  # after the store has them: a kill before this re-reads them (harmless)
        reason = failed.get(str(path))
        moved = inbox.move_aside(path, settings.inbox, inbox.FAILED if reason else inbox.LOADED, reason)
        if reason:
            log.warning("refresh: %s could not be read, moved to %s: %s", path.name, moved.parent, reason)
    loaded = tuple(str(p) for p in waiting if str(p) not in failed)
    return loaded, {Path(k).name: v for k, v in failed.items()}, result.stored if result else None


def _pending_path(settings: Settings) -> Path:
    return settings.features_dir.parent / f"refresh_{settings.bar}_pending.json"


def _mark_pending(path: Path, since: pd.Timestamp) -> None:
    if path.exists():
        since = min(since, pd.Timestamp(json.loads(path.read_text())["since"]))
    files.write_json(path, {"since": since.isoformat()})


def _since(settings: Settings, candles: pd.DataFrame, pending: Path) -> pd.Timestamp | None:
    """The earliest bar whose rows must be recomputed: pending corrections, or bars past the
    features' newest row of their symbol (None: the features cover every stored bar)."""
    covered = feature_table(settings).read(["symbol", "event_timestamp"])
    last = covered.groupby("symbol")["event_timestamp"].max()
    newest = candles["symbol"].map(last)
    beyond = candles.loc[newest.isna() | (candles["ts"] > newest), "ts"]
    candidates = [beyond.min()] if len(beyond) else []
    if pending.exists():
        candidates.append(pd.Timestamp(json.loads(pending.read_text())["since"]))
    return min(candidates) if candidates else None
