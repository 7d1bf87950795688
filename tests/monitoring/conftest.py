"""A home whose offline tables hold the demo data's features and targets (no Redis, no MLflow)."""

from __future__ import annotations

import pytest

from feature_repo import candle_store, jobs


@pytest.fixture(scope="module")
def built(tmp_path_factory, demo_candles):
    from cryptovol.settings import Settings

    settings = Settings(home=tmp_path_factory.mktemp("home"), redis_url=None, mlflow_tracking_uri=None)
    settings.ensure_dirs()
    candle_store.store(settings.home, "1d", demo_candles)
    jobs.build_features(settings)
    return settings
