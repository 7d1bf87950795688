"""The MLflow client of the configured registry: light to import (MLflow only), so that the
registry commands (`cryptovol models ...`) answer without loading the model libraries."""

from __future__ import annotations

import mlflow
from mlflow import MlflowClient

from cryptovol.settings import Settings


def configure(settings: Settings) -> MlflowClient:
    """Point MLflow at the configured store and make sure the experiment exists."""
    mlflow.set_tracking_uri(settings.tracking_uri)
    mlflow.set_registry_uri(settings.tracking_uri)
    if mlflow.get_experiment_by_name(settings.experiment_name) is None:
        local = settings.mlflow_tracking_uri is None
        mlflow.create_experiment(
            settings.experiment_name,
            artifact_location=settings.artifact_root.as_uri() if local else None,
        )
    mlflow.set_experiment(settings.experiment_name)
    return MlflowClient(settings.tracking_uri, registry_uri=settings.tracking_uri)
