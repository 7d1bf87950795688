"""Incremental refresh: new candles → the feature and target rows they change → offline + online.

A refresh upserts candle files into the candle store and recomputes only the rows the new bars
can change: every row stamped at or after the earliest new (or corrected) bar, for every coin
trading then — the cross-sectional features (market return, market-cap rank, beta to BTC) of
all coins move when one coin's bar arrives — from the candles of every coin going back
:func:`lookback_bars`.
The rows are appended to the offline tables as new parts (``feature_repo.offline_table``) and
each coin's newest feature row is pushed to the online store (the view's Feast push source),
so online == offline for every coin's newest bar.

The lookback covers the longest rolling window plus the bars an exponentially weighted
average (EWMA vol, RSI, MACD) needs to forget its start: a recomputed row equals a full
rebuild's up to the rounding of pandas' running window sums (relative 1e-6 in the test, ~1e-9
typically). GARCH refits on expanding windows, so with ``CRYPTOVOL_GARCH`` a
refresh recomputes the affected coins from their first bar.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import pandas as pd

from cryptovol.bars import bar_delta
from feature_repo.offline_table import feature_table, target_table
from feature_repo.transforms.config import FeatureConfig, config_for
from feature_repo.transforms.features import compute_features
from feature_repo.transforms.targets import SPIKE_WINDOW_HORIZONS, compute_targets

log = logging.getLogger(__name__)

# bars after which an EWM with the slowest decay used here (RSI: 13/14 per bar) has forgotten
# its start to < 1e-10 of its value: (13/14)**320 ~ 5e-11
EWM_SETTLE_BARS = 320


def lookback_bars(config: FeatureConfig, horizon: int) -> int:
    """Bars before the earliest new bar that a recomputation reads."""
    targets = 2 * horizon + SPIKE_WINDOW_HORIZONS * horizon  # past rv, its median, the future
    return max(config.max_window + EWM_SETTLE_BARS, targets + horizon)


@dataclass(frozen=True)
class Recomputed:
    features: pd.DataFrame
    targets: pd.DataFrame
    since: pd.Timestamp  # rows stamped at or after this were recomputed (targets: H bars earlier)


def recompute(candles: pd.DataFrame, since: pd.Timestamp, config: FeatureConfig,
              horizon: int) -> Recomputed:
    """The feature and target rows that bars from ``since`` on change, from ``candles``. Pure."""
    step = pd.Timedelta(bar_delta(config.bar))
    start = since - lookback_bars(config, horizon) * step
    window = candles if config.garch else candles[candles["ts"] >= start]
    features = compute_features(window, config)
    features = features[features["event_timestamp"] >= since].reset_index(drop=True)
    targets = compute_targets(window, config.bar, horizon)
    targets = targets[targets["event_timestamp"] >= since - horizon * step].reset_index(drop=True)
    return Recomputed(features=features, targets=targets, since=since)


def newest_rows(features: pd.DataFrame) -> pd.DataFrame:
    """Each symbol's newest row (what the online store serves). Pure."""
    last = features.groupby("symbol")["event_timestamp"].transform("max")
    return features[features["event_timestamp"].eq(last)].reset_index(drop=True)


def update_tables(settings, candles: pd.DataFrame, since: pd.Timestamp) -> Recomputed:
    """Recompute the rows from ``since`` and append them to the offline feature/target tables."""
    fresh = recompute(candles, since, config_for(settings), settings.horizon)
    feature_table(settings).append(fresh.features)
    target_table(settings).append(fresh.targets)
    log.info("refresh: %d feature rows and %d target rows recomputed from %s (%d symbols)",
             len(fresh.features), len(fresh.targets), since, fresh.features["symbol"].nunique())
    return fresh


def push_online(store, bar: str, features: pd.DataFrame) -> dict[str, pd.Timestamp]:
    """Push each symbol's newest row to the online store (the view's Feast push source);
    returns symbol → as-of."""
    from feast.data_source import PushMode  # noqa: PLC0415 (imports Feast)

    from feature_repo.objects.data_sources import push_source_name  # noqa: PLC0415

    latest = newest_rows(features)
    if latest.empty:
        return {}
    # the source's created column: the online store keeps it beside the row
    latest = latest.assign(created=pd.Timestamp.now(tz="UTC"))
    store.push(push_source_name(bar), latest, to=PushMode.ONLINE)
    return dict(zip(latest["symbol"], latest["event_timestamp"], strict=True))
