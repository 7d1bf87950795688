"""`cryptovol pipeline` stopped in the middle of training: SIGTERM ends it within seconds with
one line, SIGKILL leaves no server running (redis-server, the Prefect API), and the re-run
completes in the same state as an uninterrupted run.

The stops and the re-run are how the session's demo world is built (tests/worlds.py): this
test reads what they did."""

from __future__ import annotations

import pandas as pd
import pytest

from cryptovol.settings import Settings
from feature_repo import candle_store
from feature_repo.offline_table import feature_table
from feature_repo.transforms.config import config_for
from feature_repo.transforms.features import compute_features
from tests.flows.processes import SLOW

pytestmark = pytest.mark.integration


def test_pipeline_stops_on_sigterm_and_sigkill_then_reruns_cleanly(demo_world):
    term, kill = demo_world.stops
    assert (term.signal, kill.signal) == ("SIGTERM", "SIGKILL")
    for stop in (term, kill):  # it was stopped while its servers ran
        assert any("redis-server" in c for c in stop.servers), stop.servers
        assert any("uvicorn" in c for c in stop.servers), stop.servers
        assert not stop.left, f"{stop.signal}: a server outlived the stopped pipeline: {stop.left}"
    assert term.returncode == 143, term.output[-3000:]
    assert term.seconds < 30 * SLOW, f"SIGTERM took {term.seconds:.1f} s"
    assert "error: stopped" in term.output.splitlines()[-1], term.output[-2000:]
    assert kill.returncode == -9

    out = demo_world.stdout  # the re-run after both stops
    assert "crypto-vol-forecaster-1d-h7 v1 (champion: v1)" in out
    assert "23 symbols online" in out
    # the state an uninterrupted run ends in: the demo candles, and features built from them
    home = demo_world.home
    settings = Settings(home=home)
    candles = candle_store.read_candles(home, "1d")
    assert len(candles) == 37066 and candles["symbol"].nunique() == 23
    stored = feature_table(settings).read()
    fresh = compute_features(candles, config_for(settings))
    pd.testing.assert_frame_equal(stored.reset_index(drop=True), fresh.reset_index(drop=True))
    assert not demo_world.left, f"left running after the pipeline: {demo_world.left}"
