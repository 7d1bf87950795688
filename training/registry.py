"""MLflow edge: track a training run, register the model, manage the ``champion`` alias.

By default MLflow keeps its runs in SQLite and its artifacts in a folder, both under
``CRYPTOVOL_HOME/mlflow``; ``MLFLOW_TRACKING_URI`` points it at a server instead.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path

import mlflow
import pandas as pd
from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature

from feature_repo.settings import Settings
from training.train import TrainResult

log = logging.getLogger(__name__)

CHAMPION = "champion"


@dataclass(frozen=True)
class RegisteredModel:
    name: str
    version: str
    run_id: str
    is_champion: bool
    champion_version: str


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


def champion_version(client: MlflowClient, name: str) -> ModelVersion | None:
    try:
        return client.get_model_version_by_alias(name, CHAMPION)
    except MlflowException:
        return None


def log_and_register(
    result: TrainResult, settings: Settings, tags: dict[str, str]
) -> RegisteredModel:
    """Log params/metrics/model/artifacts, register a version; crown it if there is no champion."""
    client = configure(settings)
    x_example = result.reference[result.features].head(5)
    signature = infer_signature(x_example, result.model.predict(x_example))
    with mlflow.start_run(run_name=f"lightgbm-{settings.bar}-h{settings.horizon}") as run:
        mlflow.set_tags(tags)
        mlflow.log_params(result.params)
        mlflow.log_metrics(result.metrics)
        with tempfile.TemporaryDirectory() as tmp:
            reference = Path(tmp) / "reference.parquet"
            result.reference.to_parquet(reference, index=False)
            mlflow.log_artifact(str(reference), artifact_path="data")
            predictions = Path(tmp) / "test_predictions.parquet"
            result.test_predictions.to_parquet(predictions, index=False)
            mlflow.log_artifact(str(predictions), artifact_path="data")
        info = mlflow.lightgbm.log_model(
            result.model, name="model", signature=signature, input_example=x_example,
            registered_model_name=settings.model_name,
        )
    version = str(info.registered_model_version)
    for key, value in {**tags, "bar": settings.bar, "horizon": str(settings.horizon),
                       "target": "log per-bar realized vol"}.items():
        client.set_model_version_tag(settings.model_name, version, key, value)

    current = champion_version(client, settings.model_name)
    if current is None:
        client.set_registered_model_alias(settings.model_name, CHAMPION, version)
        log.info("no champion yet: version %s is now @%s", version, CHAMPION)
        champion = version
    else:
        champion = str(current.version)
        log.info("registered version %s; @%s stays on version %s", version, CHAMPION, champion)
    return RegisteredModel(settings.model_name, version, run.info.run_id,
                           is_champion=champion == version, champion_version=champion)


def champion_reference(settings: Settings) -> tuple[str, pd.DataFrame]:
    """The champion's version and the training-window features it was fitted on."""
    client = configure(settings)
    champion = champion_version(client, settings.model_name)
    if champion is None:
        raise LookupError(f"no @{CHAMPION} version of {settings.model_name}: train a model first")
    with tempfile.TemporaryDirectory() as tmp:
        path = client.download_artifacts(champion.run_id, "data/reference.parquet", tmp)
        return str(champion.version), pd.read_parquet(path)
