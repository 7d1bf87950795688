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
from training.aliases import registered_horizons, version_by_alias
from training.package import VolForecaster
from training.pyfunc import load_forecaster

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
    forecaster: VolForecaster  # the package inside ``model`` (training.package)
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
        try:
            forecaster = load_forecaster(model)
        except ValueError as exc:
            raise RuntimeError(f"{name} v{version.version}: {exc}") from None
        return cls(
            name=name, version=str(version.version),
            bar=version.tags.get("bar", settings.bar),
            horizon=int(version.tags.get("horizon", settings.horizon)),
            features=forecaster.features, model=model, forecaster=forecaster,
            feature_service=version.tags.get("feature_service", f"vol_forecast_{settings.bar}"),
            features_end=pd.Timestamp(version.tags["features_end"])
            if version.tags.get("features_end") else None,
        )

    @property
    def annualize(self) -> float:
        return math.sqrt(bars_per_year(self.bar))

    @property
    def base(self) -> str | None:
        return self.forecaster.base

    def predict(self, features: pd.DataFrame) -> pd.DataFrame:
        """The package's answer per row (``VolForecaster.predict``): vol, intervals, regimes."""
        return self.forecaster.predict(features)

    def predict_vol(self, features: pd.DataFrame) -> np.ndarray:
        """Per-bar realized vol over the next ``horizon`` bars."""
        return self.predict(features)["vol"].to_numpy()


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


def served_horizons(settings: Settings) -> list[int]:
    """The horizons a service of ``settings`` answers: ``serve_horizons``, or every horizon of
    the bar with a champion; a LookupError naming what is missing when there is none to serve."""
    client = MlflowClient(settings.tracking_uri, registry_uri=settings.tracking_uri)
    models = registered_horizons(client, settings.model_name, settings.bar)
    available = {h for h, name in models.items() if version_by_alias(client, name, CHAMPION)}
    wanted = set(settings.serve_horizons) if settings.serve_horizons else available
    if missing := sorted(wanted - available):
        raise LookupError(f"no @champion for horizon(s) {missing} of {settings.bar} bars "
                          f"(champions exist for {sorted(available) or 'none'}): train them with "
                          f"`cryptovol train --bar {settings.bar} --horizon H`")
    if not wanted:
        raise LookupError(f"no @champion model for {settings.bar} bars: run `cryptovol pipeline` "
                          "or `cryptovol train` first")
    return sorted(wanted)


def champion_models(settings: Settings) -> dict[int, ChampionModel]:
    """The champion of each served horizon (``served_horizons``), keyed by horizon."""
    return {h: ChampionModel.load(settings.model_copy(update={"horizon": h}))
            for h in served_horizons(settings)}
