"""Feature-side stages, callable without Prefect: ingest, build features, materialize."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from feature_repo import store as feast_store
from feature_repo.loaders.candles import LoadReport
from feature_repo.loaders.cmc import load_cmc
from feature_repo.settings import Settings
from feature_repo.transforms.features import compute_features
from feature_repo.transforms.targets import compute_targets

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IngestResult:
    rows: int
    symbols: int
    report: LoadReport


@dataclass(frozen=True)
class FeaturesResult:
    feature_rows: int
    target_rows: int
    symbols: int
    first: datetime
    last: datetime


def ingest_demo(settings: Settings) -> IngestResult:
    """Load the bundled demo candles into the candle store (rewritten, so re-runs are safe)."""
    settings.ensure_dirs()
    candles, report = load_cmc(settings.demo_data)
    candles.to_parquet(settings.candles_path, index=False)
    if len(report.quarantine):
        report.quarantine.to_parquet(settings.candles_path.with_suffix(".quarantine.parquet"))
    totals = report.totals()
    log.info("ingest: read %d, kept %d, quarantined %d, zero volume %d, zero market cap %d",
             totals["read"], totals["kept"], totals["quarantined"], totals.get("zero_volume", 0),
             totals.get("zero_market_cap", 0))
    return IngestResult(rows=len(candles), symbols=candles["symbol"].nunique(), report=report)


def build_features(settings: Settings) -> FeaturesResult:
    """Candle store → offline feature table and target table (parquet)."""
    candles = pd.read_parquet(settings.candles_path)
    features = compute_features(candles, settings.bar_delta)
    targets = compute_targets(candles, settings.bar_delta, settings.horizon)
    features.to_parquet(settings.features_path, index=False)
    targets.to_parquet(settings.targets_path, index=False)
    log.info("features: %d rows, targets: %d rows -> %s", len(features), len(targets),
             settings.features_path.parent)
    return FeaturesResult(
        feature_rows=len(features), target_rows=len(targets),
        symbols=features["symbol"].nunique(),
        first=features["event_timestamp"].min().to_pydatetime(),
        last=features["event_timestamp"].max().to_pydatetime(),
    )


def apply_and_materialize(settings: Settings, redis_url: str) -> dict[str, datetime]:
    """Register the Feast objects and load each symbol's newest features into Redis."""
    store = feast_store.open_store(settings, redis_url)
    feast_store.apply(store, settings)
    latest = feast_store.materialize_latest(store, pd.read_parquet(settings.features_path))
    log.info("materialized %d symbols into the online store", len(latest))
    return latest
