"""Settings: environment names, derived paths, the Redis URL translation for Feast."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from cryptovol.settings import Settings, redis_connection_string


def test_environment_is_read_with_prefix_and_standard_names(monkeypatch, tmp_path):
    monkeypatch.setenv("CRYPTOVOL_HOME", str(tmp_path))
    monkeypatch.setenv("CRYPTOVOL_HORIZON", "24")
    monkeypatch.setenv("CRYPTOVOL_BAR", "1h")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6390/2")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://mlflow:5000")
    s = Settings()
    assert (s.home, s.horizon, s.bar) == (tmp_path, 24, "1h")
    assert s.redis_url == "redis://127.0.0.1:6390/2"
    assert s.tracking_uri == "http://mlflow:5000"
    assert s.bars_per_year == 8760
    assert s.features_dir == tmp_path / "features" / "features_1h"


def test_default_tracking_uri_is_sqlite_under_home(tmp_path):
    s = Settings(home=tmp_path, mlflow_tracking_uri=None)
    assert s.tracking_uri == f"sqlite:///{tmp_path}/mlflow/mlflow.db"


@pytest.mark.parametrize("url, expected", [
    ("redis://127.0.0.1:6390/0", "127.0.0.1:6390,db=0"),
    ("redis://localhost", "localhost:6379,db=0"),
    ("redis://:s3cret@cache:6380/3", "cache:6380,db=3,password=s3cret"),
    ("rediss://user:pw@cache:6380", "cache:6380,db=0,password=pw,username=user,ssl=true"),
])
def test_redis_url_becomes_a_feast_connection_string(url, expected):
    assert redis_connection_string(url) == expected


def test_bad_values_are_rejected_with_the_reason():
    with pytest.raises(ValidationError, match="REDIS_URL must look like"):
        Settings(redis_url="http://localhost:6379")
    with pytest.raises(ValidationError, match="unknown bar size '2d'"):
        Settings(bar="2d")
