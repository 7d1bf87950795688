"""Feast feature services: the feature set a model version is trained and served on."""

from feast import FeatureService, FeatureView

FORECAST_SERVICE = "vol_forecast_v1"


def forecast_service(view: FeatureView) -> FeatureService:
    return FeatureService(
        name=FORECAST_SERVICE,
        features=[view],
        description="Features of the volatility forecaster (training and online serving).",
    )
