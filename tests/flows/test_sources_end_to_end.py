"""Bars arrive by themselves, end to end, against the local fake Binance: `cryptovol sources add`,
a first `cryptovol pull`, the scheduled pull keeping a 10-pair hourly store current (and alerting
on a pair that goes silent), then `cryptovol stream` putting each closed bar online within
seconds — killed with SIGKILL mid-batch and restarted without losing or duplicating a bar."""

from __future__ import annotations

import json
import signal
import statistics
import subprocess
import time

import httpx
import pandas as pd
import pytest
import redis

from cryptovol.alerts import read_alerts
from cryptovol.prefect_api import start_server
from cryptovol.processes import terminate
from cryptovol.redis_runtime import RedisServer
from feature_repo import candle_store, online_stamps
from feature_repo.connectors import bus
from tests.fake_exchange.market import FakeMarket
from tests.fake_exchange.server import FakeExchange
from tests.flows.loop_scenario import cli, start_receiver
from tests.flows.processes import CLI, SLOW, clean_env, processes_of
from tests.flows.test_schedule import _deployments

pytestmark = pytest.mark.integration
PULL_EVERY_S = 20
NEVER = "0 0 1 1 *"  # the loop's other schedules stay out of the way


def online_as_of(url: str) -> dict[str, pd.Timestamp]:
    table = online_stamps.read(redis.Redis.from_url(url), "1h")
    return dict(zip(table["symbol"], table["as_of"], strict=True))


def until(condition, budget_s: float, what: str, alive=None) -> float:
    started = time.monotonic()
    while time.monotonic() - started < budget_s * SLOW:
        if alive:
            alive()
        if condition():
            return time.monotonic() - started
        time.sleep(0.05)
    raise AssertionError(f"not within {budget_s * SLOW:.0f} s: {what}")


def completed_pulls(api: str, deployment: dict) -> list[dict]:
    body = {"deployments": {"id": {"any_": [deployment["id"]]}},
            "flow_runs": {"state": {"type": {"any_": ["COMPLETED"]}}}}
    return httpx.post(f"{api}/flow_runs/filter", json=body, timeout=10).json()


def test_a_10_pair_hourly_store_kept_current_by_the_schedule_and_the_stream(tmp_path):
    fake = FakeExchange(FakeMarket.simulated(pairs=10, history=2400, future=100),
                        ws_update_seconds=1.0).start()
    store = RedisServer(tmp_path / "redis", persist=False).start()
    receiver = start_receiver()
    home = tmp_path / "home"
    env = clean_env(home, REDIS_URL=store.url, CRYPTOVOL_BAR="1h",
                    CRYPTOVOL_PULL_INTERVAL_SECONDS=str(PULL_EVERY_S), CRYPTOVOL_PULL_DELAY_SECONDS="0",
                    CRYPTOVOL_REFRESH_CRON=NEVER, CRYPTOVOL_MONITOR_CRON=NEVER, CRYPTOVOL_RETRAIN_CRON=NEVER,
                    CRYPTOVOL_ALERT_WEBHOOK=f"http://127.0.0.1:{receiver.server_port}/hook")
    pairs = [f"{p.removesuffix('USDT')}/USDT" for p in fake.market.pairs]
    prefect, api = start_server(tmp_path / "prefect-server", timeout=180 * SLOW, scheduling=True)
    env_api = {**env, "PREFECT_API_URL": api}
    procs: list[subprocess.Popen] = []
    try:
        cli(["sources", "add", "binance", "--pairs", ",".join(pairs), "--bar", "1h",
             "--url", fake.url, "--backfill-days", "100"], env)  # --check asks the fake's markets
        out = cli(["pull"], env_api)
        assert "full rebuild: 24,000 feature rows, 10 symbols online" in " ".join(out.stdout.split())
        last = pd.Timestamp(fake.market.opens[fake.market.closed], unit="ms", tz="UTC")
        assert set(online_as_of(store.url).values()) == {last}

        # ----- the pull path: a scheduled pull after every bar -------------------------------
        schedule_log = tmp_path / "schedule.log"
        schedule = subprocess.Popen([CLI, "schedule"], env=env_api, stdout=schedule_log.open("w"),
                                    stderr=subprocess.STDOUT)
        procs.append(schedule)

        def schedule_alive():
            assert schedule.poll() is None, schedule_log.read_text()[-3000:]

        until(lambda: "pull-1h" in _deployments(api), 300, "the pull-1h deployment", schedule_alive)
        pull_deployment = _deployments(api)["pull-1h"]
        assert pull_deployment["schedules"][0]["schedule"]["interval"] == PULL_EVERY_S
        until(lambda: completed_pulls(api, pull_deployment), 300, "a first scheduled pull",
              schedule_alive)
        closed_at = time.time()
        bar = pd.Timestamp(fake.advance_bars(1)[0], unit="ms", tz="UTC")
        pull_latency = until(lambda: set(online_as_of(store.url).values()) == {bar}, 300,
                             "the scheduled pull bringing the new bar online", schedule_alive)
        online_at = closed_at + pull_latency

        def brought_online() -> list[dict]:  # the completed runs that ended after it was online
            return sorted((r for r in completed_pulls(api, pull_deployment)
                           if pd.Timestamp(r["end_time"]).timestamp() >= online_at - 1),
                          key=lambda r: r["end_time"])

        until(brought_online, 120, "the run that brought the bar online to complete")
        waited = pd.Timestamp(brought_online()[0]["start_time"]).timestamp() - closed_at
        print(f"pull path: bar close -> 10 pairs online {pull_latency:.1f} s (the run that did it "
              f"started {waited:+.1f} s from the close; a pull every {PULL_EVERY_S} s)")
        assert waited <= PULL_EVERY_S + 30 * SLOW  # the next tick (the runner polls every 10 s)

        # a pair that stops trading is alerted once it is more than 3 bars behind
        fake.market.halt("BTCUSDT")
        fake.advance_bars(4)
        until(lambda: any(a["kind"] == "source_silent" for a in read_alerts(home / "alerts.jsonl")[0]),
              240, "the silent-source alert", schedule_alive)
        silent = [a for a in read_alerts(home / "alerts.jsonl")[0] if a["kind"] == "source_silent"]
        assert silent[0]["title"] == "source binance (1h) silent: BTC/USDT"
        assert "BTC/USDT: 4 bars behind" in silent[0]["text"]
        hooked = [json.loads(body) for _, body in receiver.received]
        assert any(h["kind"] == "source_silent" for h in hooked)  # the webhook got it too
        fake.market.resume("BTCUSDT")
        until(lambda: any(a["kind"] == "source_back" for a in read_alerts(home / "alerts.jsonl")[0]),
              240, "the source-back alert", schedule_alive)
        assert len([a for a in read_alerts(home / "alerts.jsonl")[0]
                    if a["kind"] == "source_silent"]) == 1  # once, not at every pull
        schedule.send_signal(signal.SIGINT)
        assert schedule.wait(timeout=120 * SLOW) in (0, 130)
        newest = pd.Timestamp(fake.market.opens[fake.market.closed], unit="ms", tz="UTC")
        assert set(online_as_of(store.url).values()) == {newest}

        # ----- the streaming path ------------------------------------------------------------
        def start_stream(n: int) -> subprocess.Popen:
            log = (tmp_path / f"stream{n}.log").open("w")
            proc = subprocess.Popen([CLI, "stream"], env=env, stdout=log, stderr=subprocess.STDOUT)
            procs.append(proc)
            log_path = tmp_path / f"stream{n}.log"
            until(lambda: sum(len(s) for s in fake._subs.values()) == 10
                  and "consumer: ready" in log_path.read_text(), 300,
                  "the streamer subscribed to the 10 kline streams and the consumer ready",
                  lambda: proc.poll() is None or pytest.fail(log_path.read_text()))
            return proc

        stream = start_stream(1)
        latencies = []
        for _ in range(3):
            bar = pd.Timestamp(fake.advance_bars(1)[0], unit="ms", tz="UTC")
            latencies.append(until(lambda b=bar: set(online_as_of(store.url).values()) == {b}, 60,
                                   "the streamed bar online"))
        print(f"stream path: bar close -> 10 pairs online {', '.join(f'{s:.2f}' for s in latencies)} s")
        assert statistics.median(latencies) <= 5 * SLOW

        # SIGKILL while a batch is on its way, a bar closes while nothing runs, then a restart
        fake.advance_bars(1)
        time.sleep(0.3)
        stream.send_signal(signal.SIGKILL)
        stream.wait(timeout=30)
        missed = pd.Timestamp(fake.advance_bars(1)[0], unit="ms", tz="UTC")
        stream = start_stream(2)
        until(lambda: set(online_as_of(store.url).values()) == {missed}, 120,
              "both bars online after the restart")
        stream.send_signal(signal.SIGINT)
        assert stream.wait(timeout=60 * SLOW) in (0, 130)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
        terminate(prefect, grace=5.0, group=True)
        receiver.shutdown()
        fake.stop()

    # nothing lost, nothing twice: the candle store is the exchange's closed bars, each once
    stored = candle_store.read_candles(home, "1h")
    assert not stored.duplicated(["symbol", "ts"]).any()
    for pair in fake.market.pairs:
        want = fake.market.closed_candles(pair)
        got = stored[stored["symbol"] == pair.removesuffix("USDT")].reset_index(drop=True)
        assert list(got["ts"]) == list(want["ts"]), pair
        assert (got["close"].to_numpy() == want["close"].to_numpy()).all(), pair
    client = redis.Redis.from_url(store.url)
    assert client.xlen(bus.stream_key("1h")) == 5 * 10  # 5 streamed bars x 10 pairs, each once
    assert client.xpending(bus.stream_key("1h"), bus.GROUP)["pending"] == 0
    store.stop()
    assert not processes_of(home), "a process outlived the test"
