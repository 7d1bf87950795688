"""The registered model: an MLflow pyfunc around :class:`training.package.VolForecaster`.

``mlflow.pyfunc.load_model("models:/<name>@champion").predict(features)`` returns the package's
answer (vol, intervals, regime and spike probabilities); ``unwrap_python_model().forecaster`` is
the package itself (for explanations). The class is imported by reference, so the loading
process needs this repository's code (the service, the monitor and the Bento all have it).
"""

from __future__ import annotations

import tempfile
from importlib.metadata import version
from pathlib import Path

import mlflow
import pandas as pd
from mlflow.models import infer_signature

from training.package import VolForecaster

ARTIFACT = "package"


class VolForecastModel(mlflow.pyfunc.PythonModel):
    forecaster: VolForecaster

    def load_context(self, context) -> None:
        self.forecaster = VolForecaster.load(Path(context.artifacts[ARTIFACT]))

    def predict(self, context, model_input: pd.DataFrame, params: dict | None = None) -> pd.DataFrame:
        return self.forecaster.predict(model_input)


def requirements() -> list[str]:
    """Pinned to this environment (MLflow's own inference loads the model in a subprocess)."""
    return [f"{name}=={version(name)}" for name in
            ("mlflow", "lightgbm", "catboost", "pandas", "numpy", "scikit-learn")]


def log_package(forecaster: VolForecaster, example: pd.DataFrame):
    """Log the package as the run's ``model`` (registered by the caller); MLflow's model info."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = forecaster.save(Path(tmp) / ARTIFACT)
        # the coin travels with its features: intervals and regime cut points are per coin
        example = example[["symbol", *forecaster.features]].reset_index(drop=True)
        signature = infer_signature(example, forecaster.predict(example))
        return mlflow.pyfunc.log_model(
            name="model", python_model=VolForecastModel(), artifacts={ARTIFACT: str(folder)},
            signature=signature, input_example=example, pip_requirements=requirements())


def load_forecaster(model: mlflow.pyfunc.PyFuncModel) -> VolForecaster:
    """The package inside a loaded pyfunc; a clear error for versions logged before it existed."""
    inner = model.unwrap_python_model() if model.loader_module == "mlflow.pyfunc.model" else None
    if not isinstance(inner, VolForecastModel):
        raise ValueError("this version predates the model package (a bare LightGBM/CatBoost "
                         "model without intervals or classifiers): retrain to register a new one")
    return inner.forecaster
