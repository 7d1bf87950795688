"""The living loop end to end on the embedded default: SQLite MLflow, a private Redis, an
embedded Prefect server, `cryptovol serve` and `cryptovol schedule` as processes (the scenario:
tests/flows/loop_scenario.py; the same against the production stack: test_loop_production.py)."""

from __future__ import annotations

import json
import signal
import subprocess

import pytest

from cryptovol.prefect_api import start_server
from cryptovol.processes import terminate
from cryptovol.redis_runtime import free_port
from tests.flows.loop_scenario import CLI, Load, check_records, cli, drive, loop_env, start_receiver
from tests.flows.processes import SLOW, processes_of, wait_ready
from tests.flows.regime import simulate

pytestmark = pytest.mark.integration


def test_a_regime_change_is_detected_retrained_promoted_alerted_and_served(tmp_path):
    home = tmp_path / "home"
    history, new = simulate()
    history.to_parquet(tmp_path / "history.parquet")
    receiver = start_receiver()
    env = loop_env(home, receiver)
    cli(["ingest", str(tmp_path / "history.parquet")], env)
    out = cli(["train"], env)
    assert "champion v1" in " ".join(out.stdout.split())  # the caption may wrap

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    serve_log, schedule_log = tmp_path / "serve.log", tmp_path / "schedule.log"
    prefect, api = start_server(tmp_path / "prefect-server", timeout=180 * SLOW)
    serve = subprocess.Popen([CLI, "serve", "--port", str(port)], env=env,
                             stdout=serve_log.open("w"), stderr=subprocess.STDOUT)
    schedule = subprocess.Popen([CLI, "schedule"], env={**env, "PREFECT_API_URL": api},
                                stdout=schedule_log.open("w"), stderr=subprocess.STDOUT)
    load = Load(url)

    def schedule_alive():
        assert schedule.poll() is None, schedule_log.read_text()[-3000:]

    try:
        wait_ready(url, serve, serve_log)
        drive(api, url, home, new, env, load, schedule_alive, schedule_log, receiver)
    finally:
        load.finish()
        for proc in (schedule, serve):
            proc.send_signal(signal.SIGINT)
        for proc in (schedule, serve):
            try:
                proc.wait(timeout=90 * SLOW)
            except subprocess.TimeoutExpired:
                proc.kill()
        terminate(prefect, grace=5.0, group=True)
        receiver.shutdown()
    load.assert_clean()
    assert "now serving crypto-vol-forecaster-1d-h7 v2 (was v1)" in serve_log.read_text()
    lines = (home / "monitoring" / "monitor_1d.jsonl").read_text().splitlines()
    check_records([json.loads(line) for line in lines], f"sqlite:///{home / 'mlflow' / 'mlflow.db'}")
    assert not processes_of(home), "a process outlived the test"
