"""Feature-side stages, callable without Prefect: build features, materialize (ingest: ``ingest.py``)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from cryptovol import files
from cryptovol.settings import Settings
from feature_repo import candle_store
from feature_repo import store as feast_store
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
    files.write_parquet(features, settings.features_path)
    files.write_parquet(targets, settings.targets_path)
    log.info("features: %d rows, targets: %d rows -> %s", len(features), len(targets),
             settings.features_path.parent)
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
    latest = feast_store.materialize_latest(store, settings.bar,
                                             files.read_parquet(settings.features_path))
    log.info("materialized %d symbols into the online store", len(latest))
    return latest
