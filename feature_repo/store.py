"""The Feast feature store of cryptovol: open it, apply the objects, materialize, read.

The store is configured by ``feature_store.yaml`` in this folder, its ``${...}`` variables
filled from :class:`Settings` rather than from the process environment, so the platform and
the stock ``feast`` CLI (which expands the same variables from the environment) agree.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

import pandas as pd
import yaml
from feast import Entity, FeatureService, FeatureStore, FeatureView, FileSource, PushSource, RepoConfig

from cryptovol.settings import FEATURE_REPO_DIR, Settings, redis_connection_string
from feature_repo.objects.data_sources import volatility_push_source, volatility_source
from feature_repo.objects.entities import symbol
from feature_repo.objects.feature_services import forecast_service, service_name
from feature_repo.objects.feature_views import view_name, volatility_view

log = logging.getLogger(__name__)
# Feast warns on every config that serve_features_while_materializing "typically has no effect"
# on a file registry; the file registry does read it (feast/infra/registry/registry.py).
logging.getLogger("feast.repo_config").setLevel(logging.ERROR)

FEATURE_STORE_YAML = FEATURE_REPO_DIR / "feature_store.yaml"
# the production profile (CRYPTOVOL_DATABASE_URL): the same store with a PostgreSQL registry
FEATURE_STORE_SQL_YAML = FEATURE_REPO_DIR / "feature_store_sql.yaml"


@dataclass(frozen=True)
class FeastObjects:
    entity: Entity
    source: FileSource
    push: PushSource
    view: FeatureView
    service: FeatureService

    def all(self) -> list:
        return [self.entity, self.source, self.push, self.view, self.service]


def feast_objects(settings: Settings) -> FeastObjects:
    source = volatility_source(settings)
    push = volatility_push_source(settings, source)
    view = volatility_view(settings, push)
    return FeastObjects(entity=symbol, source=source, push=push, view=view,
                        service=forecast_service(view, settings.bar))


def feast_variables(settings: Settings, redis_url: str) -> dict[str, str]:
    """The variables ``feature_store.yaml`` refers to, as ``cryptovol env`` exports them."""
    return {
        "CRYPTOVOL_HOME": str(settings.home),
        "CRYPTOVOL_BAR": settings.bar,
        "CRYPTOVOL_FEAST_REDIS": redis_connection_string(redis_url),
    }


def config_file(settings: Settings):
    """``feature_store.yaml`` (file registry) or, in production, ``feature_store_sql.yaml``."""
    return FEATURE_STORE_SQL_YAML if settings.database_url is not None else FEATURE_STORE_YAML


def repo_config(settings: Settings, redis_url: str, timeout: float | None = None) -> RepoConfig:
    values = feast_variables(settings, redis_url)
    if settings.database_url is not None:  # the SQL registry (a credential: not in `cryptovol env`)
        values["CRYPTOVOL_DATABASE_URL"] = settings.database_url.get_secret_value()
    if timeout is not None:  # a service must not hang on a dead Redis
        values["CRYPTOVOL_FEAST_REDIS"] += f",socket_timeout={timeout},socket_connect_timeout={timeout}"
    text = re.sub(r"\$\{(\w+)\}", lambda m: values[m.group(1)], config_file(settings).read_text())
    config = RepoConfig(**yaml.safe_load(text))
    config.repo_path = FEATURE_REPO_DIR
    return config


def open_store(settings: Settings, redis_url: str, timeout: float | None = None) -> FeatureStore:
    (settings.home / "feast").mkdir(parents=True, exist_ok=True)
    return FeatureStore(config=repo_config(settings, redis_url, timeout))


def apply(store: FeatureStore, settings: Settings) -> FeastObjects:
    """Register (or update) the entity, source, view and service; idempotent."""
    objects = feast_objects(settings)
    store.apply(objects.all())
    log.info("feast apply: %s", ", ".join(type(o).__name__ + ":" + o.name for o in objects.all()))
    return objects


def materialize_latest(store: FeatureStore, bar: str, features: pd.DataFrame) -> dict[str, datetime]:
    """Write each symbol's newest feature row into the online store; returns symbol → as-of."""
    start = features["event_timestamp"].min().to_pydatetime() - timedelta(seconds=1)
    end = features["event_timestamp"].max().to_pydatetime() + timedelta(seconds=1)
    store.materialize(start_date=start, end_date=end, feature_views=[view_name(bar)])
    latest = features.groupby("symbol")["event_timestamp"].max()
    return {s: ts.to_pydatetime() for s, ts in latest.items()}


def historical_features(store: FeatureStore, bar: str, entity_df: pd.DataFrame) -> pd.DataFrame:
    """Point-in-time join of the bar's feature service onto ``symbol, event_timestamp`` rows."""
    service = store.get_feature_service(service_name(bar))
    return store.get_historical_features(entity_df=entity_df, features=service).to_df()


def online_features(store: FeatureStore, service: str, symbols: list[str]) -> pd.DataFrame:
    """Latest online values: ``symbol, as_of`` + features; ``as_of`` is NaT for unknown symbols."""
    service = store.get_feature_service(service)
    response = store.get_online_features(
        features=service, entity_rows=[{"symbol": s} for s in symbols]
    ).to_dict(include_event_timestamps=True)
    frame = pd.DataFrame(response)
    stamp_cols = [c for c in frame.columns if c.endswith("__ts")]
    seconds = frame[stamp_cols].max(axis=1)
    frame["as_of"] = pd.to_datetime(seconds.where(seconds > 0), unit="s", utc=True)
    return frame.drop(columns=stamp_cols)
