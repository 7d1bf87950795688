"""`cryptovol pipeline` stopped in the middle of training: SIGTERM ends it within seconds with
one line, SIGKILL leaves no server running (redis-server, the Prefect API), and the re-run
completes in the same state as an uninterrupted run."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest

from cryptovol.settings import Settings
from feature_repo import candle_store
from feature_repo.offline_table import feature_table
from feature_repo.transforms.config import config_for
from feature_repo.transforms.features import compute_features
from tests.flows.processes import CLI, SLOW, clean_env, family, processes_of, run, wait_until_gone

pytestmark = pytest.mark.integration
TRAINING_STARTED = "for flow 'train'"


def _start_and_wait_for_training(home: Path) -> tuple[subprocess.Popen, Path, dict[int, str]]:
    log = home.parent / f"{home.name}-{time.monotonic_ns()}.log"
    home.mkdir(parents=True, exist_ok=True)
    with log.open("w") as out:
        proc = subprocess.Popen([CLI, "pipeline"], env=clean_env(home), stdout=out,
                                stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 300 * SLOW
    while TRAINING_STARTED not in log.read_text():
        assert proc.poll() is None, f"pipeline ended before training:\n{log.read_text()[-3000:]}"
        assert time.monotonic() < deadline, "training did not start in time"
        time.sleep(0.5)
    time.sleep(3)  # inside the walk-forward (LightGBM/CatBoost fits, GARCH baselines)
    running = family(home)
    servers = list(running.values())
    assert any("redis-server" in c for c in servers) and any("uvicorn" in c for c in servers), servers
    return proc, log, running


def test_pipeline_stops_on_sigterm_and_sigkill_then_reruns_cleanly(tmp_path):
    home = tmp_path / "home"
    proc, log, running = _start_and_wait_for_training(home)
    proc.send_signal(signal.SIGTERM)
    sent = time.monotonic()
    proc.wait(timeout=120 * SLOW)
    took = time.monotonic() - sent
    output = log.read_text()
    assert proc.returncode == 143, output[-3000:]
    assert took < 30 * SLOW, f"SIGTERM took {took:.1f} s"
    assert "error: stopped" in output.splitlines()[-1], output[-2000:]
    assert not wait_until_gone(home, 15, running), "a server outlived the stopped pipeline"

    proc, log, running = _start_and_wait_for_training(home)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    left = wait_until_gone(home, 20, running)
    assert not left, f"orphans after SIGKILL: {left}"

    out = run(["pipeline"], clean_env(home))
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "crypto-vol-forecaster-1d-h7 v1 (champion: v1)" in out.stdout
    assert "23 symbols online" in out.stdout
    # the state an uninterrupted run ends in: the demo candles, and features built from them
    settings = Settings(home=home)
    candles = candle_store.read_candles(home, "1d")
    assert len(candles) == 37066 and candles["symbol"].nunique() == 23
    stored = feature_table(settings).read()
    fresh = compute_features(candles, config_for(settings))
    pd.testing.assert_frame_equal(stored.reset_index(drop=True), fresh.reset_index(drop=True))
    assert not processes_of(home)
