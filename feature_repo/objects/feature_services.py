"""Feast feature services: the feature set a model version is trained and served on."""

from feast import FeatureService, FeatureView


def service_name(bar: str) -> str:
    return f"vol_forecast_{bar}"


def forecast_service(view: FeatureView, bar: str) -> FeatureService:
    return FeatureService(
        name=service_name(bar),
        features=[view],
        description="Features of the volatility forecaster (training and online serving).",
    )
