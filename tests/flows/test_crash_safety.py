"""Nothing stored is lost: concurrent ingests both land; an ingest killed at any moment
(SIGKILL or SIGTERM, random delays over its whole run) leaves a readable store with every row
it held before, and the re-run ends in the same state as an uninterrupted run."""

from __future__ import annotations

import random
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest

from benchmarks.simulate import simulate_candles
from feature_repo import candle_store
from tests.flows.processes import CLI, SLOW, clean_env, run, wait_until_gone

pytestmark = pytest.mark.integration
KILL_POINTS = 12


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(["symbol", "ts"], ignore_index=True).astype({"symbol": str, "source": str})


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, Path]:
    """Four files of simulated hourly candles, one coin each (a year of bars per coin)."""
    folder = tmp_path_factory.mktemp("inputs")
    candles = simulate_candles(symbols=4, years=1.0, bar="1h", seed=11)
    files = {}
    for symbol, rows in candles.groupby("symbol", observed=True):
        files[str(symbol)] = folder / f"{symbol}_1h.parquet"
        rows.astype({"symbol": str, "source": str}).to_parquet(files[str(symbol)], index=False)
    return files


def test_concurrent_ingests_all_land(inputs, tmp_path):
    home = tmp_path / "home"
    env = clean_env(home)
    procs = [subprocess.Popen([CLI, "ingest", str(path)], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True) for path in inputs.values()]
    # and one that repeats a file another is loading at the same time
    procs.append(subprocess.Popen([CLI, "ingest", str(inputs["BTC"])], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    outputs = [p.communicate(timeout=300 * SLOW)[0] for p in procs]
    assert [p.returncode for p in procs] == [0] * len(procs), "\n".join(outputs)
    stored = candle_store.read_candles(home, "1h")
    expected = pd.concat([pd.read_parquet(p) for p in inputs.values()])
    assert stored.groupby("symbol").size().to_dict() == expected.groupby("symbol").size().to_dict()
    pd.testing.assert_frame_equal(_sorted(stored), _sorted(expected), check_dtype=False)
    assert not list((home / "candles").glob(".*.tmp"))


def test_ingest_killed_at_random_points_loses_nothing(inputs, tmp_path):
    rng = random.Random(7)
    base, first = tmp_path / "base", inputs["BTC"]
    second = [str(inputs[s]) for s in ("C001", "C002", "C003")]  # one ingest of three files
    assert run(["ingest", str(first)], clean_env(base)).returncode == 0
    before = _sorted(candle_store.read_candles(base, "1h"))
    reference = tmp_path / "reference"
    shutil.copytree(base, reference)
    started = time.monotonic()
    assert run(["ingest", *second], clean_env(reference)).returncode == 0
    duration = time.monotonic() - started
    expected = _sorted(candle_store.read_candles(reference, "1h"))

    outcomes = []
    for point in range(KILL_POINTS):
        home = tmp_path / f"kill{point}"
        shutil.copytree(base, home)
        sig = signal.SIGKILL if point % 2 == 0 else signal.SIGTERM
        # half the kills anywhere in the run, half in its last third, where the store is written
        delay = rng.uniform(0, duration) if point < KILL_POINTS // 2 else \
            rng.uniform(0.67 * duration, 1.05 * duration)
        proc = subprocess.Popen([CLI, "ingest", *second], env=clean_env(home),
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        time.sleep(delay)
        proc.send_signal(sig)
        stopped = time.monotonic()
        _, err = proc.communicate(timeout=60 * SLOW)
        took = time.monotonic() - stopped
        assert "Traceback" not in err, err
        if sig == signal.SIGTERM:
            assert took < 20 * SLOW, f"SIGTERM took {took:.1f} s to stop the ingest"
        assert not wait_until_gone(home, 30), "a process of the killed ingest is still running"
        # the store is readable and holds every row it had before the kill
        now = _sorted(candle_store.read_candles(home, "1h"))
        kept = now.merge(before, on=list(before.columns), how="inner")
        assert len(kept) == len(before), f"kill {point} after {delay:.2f} s lost stored rows"
        outcomes.append((sig.name, round(delay, 2), proc.returncode, len(now) - len(before)))
        # the re-run completes and ends where an uninterrupted run ends
        assert run(["ingest", *second], clean_env(home)).returncode == 0
        pd.testing.assert_frame_equal(_sorted(candle_store.read_candles(home, "1h")), expected)
        assert not list((home / "candles").glob(".*.tmp"))
    # the kills landed both before the store changed and after it did
    print(f"\nkill points (signal, delay s, exit code, rows added before the kill): {outcomes}")
    assert len(outcomes) == KILL_POINTS
