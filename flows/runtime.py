"""Process set-up for the CLI: settings, logging, and the environment of Prefect and BentoML.

Prefect and BentoML read their own environment variables at import time, so the CLI sets
them here, once, from :class:`Settings` — before anything imports those libraries.
"""

from __future__ import annotations

import logging
import os
import warnings

from rich.logging import RichHandler

from feature_repo.settings import Settings

NOISY_LOGGERS = ("feast", "alembic", "mlflow", "urllib3", "httpx", "numexpr")


def bootstrap(**overrides) -> Settings:
    """Read the settings once, create the folders, point Prefect at CRYPTOVOL_HOME."""
    settings = Settings(**{k: v for k, v in overrides.items() if v is not None})
    settings.ensure_dirs()
    os.environ.setdefault("PREFECT_HOME", str(settings.home / "prefect"))
    os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "feature_repo,training,monitoring")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_UI_ENABLED", "false")
    os.environ.setdefault("BENTOML_HOME", str(settings.home / "bentoml"))
    os.environ.setdefault("BENTOML_DO_NOT_TRACK", "true")
    os.environ.setdefault("PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW", "ignore")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    # Library deprecation chatter (SQLAlchemy in Prefect/MLflow) is not for our users.
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)
    return settings


def configure_logging(verbose: bool = False) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO, format="%(message)s",
        handlers=[RichHandler(show_path=False, rich_tracebacks=False)], force=True,
    )
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def service_environment(settings: Settings, redis_url: str) -> dict[str, str]:
    """Environment of the ``bentoml serve`` child: everything the service's Settings reads."""
    return {
        **os.environ,
        "CRYPTOVOL_HOME": str(settings.home),
        "CRYPTOVOL_BAR": settings.bar,
        "CRYPTOVOL_HORIZON": str(settings.horizon),
        "CRYPTOVOL_MODEL_NAME": settings.model_name,
        "REDIS_URL": redis_url,
        "MLFLOW_TRACKING_URI": settings.tracking_uri,
    }
