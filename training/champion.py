"""The champion model as the service and the monitor use it: loaded from the MLflow registry."""

from __future__ import annotations

import math
from dataclasses import dataclass

import mlflow
import numpy as np
import pandas as pd
from mlflow import MlflowClient

from cryptovol.bars import bars_per_year
from cryptovol.settings import Settings

CHAMPION = "champion"


@dataclass
class ChampionModel:
    name: str
    version: str
    bar: str
    horizon: int
    features: list[str]
    feature_service: str
    model: mlflow.pyfunc.PyFuncModel
    scale: float = 1.0  # smearing factor fitted at training (tag vol_scale)
    base: str | None = None  # feature the model's log vol is relative to (tag target_base)
    features_end: pd.Timestamp | None = None  # the newest bar its training run saw

    @classmethod
    def load(cls, settings: Settings, version_number: str | None = None) -> ChampionModel:
        """The version behind ``@champion`` (or ``version_number``), ready to predict."""
        client = MlflowClient(settings.tracking_uri, registry_uri=settings.tracking_uri)
        name = settings.registered_model
        version = (client.get_model_version(name, version_number) if version_number
                   else client.get_model_version_by_alias(name, CHAMPION))
        mlflow.set_tracking_uri(settings.tracking_uri)
        mlflow.set_registry_uri(settings.tracking_uri)
        # load the exact version the alias pointed at, even if the alias moves meanwhile
        model = mlflow.pyfunc.load_model(f"models:/{name}/{version.version}")
        inputs = model.metadata.get_input_schema()
        if inputs is None:
            raise RuntimeError(f"{name} v{version.version} has no input signature")
        return cls(
            name=name, version=str(version.version),
            bar=version.tags.get("bar", settings.bar),
            horizon=int(version.tags.get("horizon", settings.horizon)),
            features=inputs.input_names(), model=model,
            feature_service=version.tags.get("feature_service", f"vol_forecast_{settings.bar}"),
            scale=float(version.tags.get("vol_scale", 1.0)),
            base=version.tags.get("target_base") or None,
            features_end=pd.Timestamp(version.tags["features_end"])
            if version.tags.get("features_end") else None,
        )

    @property
    def annualize(self) -> float:
        return math.sqrt(bars_per_year(self.bar))

    def predict_vol(self, features: pd.DataFrame) -> np.ndarray:
        """Per-bar realized vol over the next ``horizon`` bars: scale x base x exp(prediction)."""
        log_vol = self.model.predict(features[self.features].astype("float64"))
        forecast = self.scale * np.exp(np.asarray(log_vol, dtype=float))
        if self.base:  # the model forecasts vol relative to this feature's level
            level = features[self.base].to_numpy(dtype=float)
            forecast = forecast * np.where(level > 0, level, np.nan)
        return forecast


def live_forecasts(champion: ChampionModel, frame: pd.DataFrame) -> pd.Series | None:
    """The champion's forecasts for the rows of ``frame`` stamped after the data its training run
    saw — out of sample by construction — indexed by (symbol, event_timestamp); None when there
    are none (or it needs features the frame lacks)."""
    if champion.features_end is None or not set(champion.features) <= set(frame.columns):
        return None
    rows = frame[frame["event_timestamp"] > champion.features_end]
    if rows.empty:
        return None
    index = pd.MultiIndex.from_frame(rows[["symbol", "event_timestamp"]])
    return pd.Series(champion.predict_vol(rows), index=index, name="champion")
