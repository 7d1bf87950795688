"""Feast feature views, their schema generated from the feature catalog."""

from feast import FeatureView, Field, PushSource
from feast.types import Float64

from cryptovol.settings import Settings
from feature_repo.objects.entities import symbol
from feature_repo.transforms.config import catalog, config_for

# A training row at t joins the feature row stamped t; the TTL only bounds how stale a
# joined row may be when a bar is missing.
TTL_BARS = 2


def view_name(bar: str) -> str:
    return f"vol_features_{bar}"


def volatility_view(settings: Settings, source: PushSource) -> FeatureView:
    return FeatureView(
        name=view_name(settings.bar),
        entities=[symbol],
        ttl=settings.bar_delta * TTL_BARS,
        schema=[Field(name=name, dtype=Float64, description=text)
                for name, text in catalog(config_for(settings)).items()],
        source=source,
        online=True,
        description="Per-coin volatility and liquidity features; per-bar units.",
        tags={"bar": settings.bar},
    )
