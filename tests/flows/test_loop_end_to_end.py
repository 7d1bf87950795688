"""The living loop, end to end, on simulated candles with a regime change (vol x3, persistent).

A champion trained on calm years is served by a running `cryptovol serve`; `cryptovol schedule`
serves the deployments. New bars with the regime change land in the inbox; the scheduled refresh
loads them, the scheduled monitor detects the drift and the degradation, the policy retrains,
the gate promotes, a local receiver gets the signed webhook with the figures, and the running
service answers with the new champion — zero failed requests under a bounded load — and then
follows a `cryptovol models rollback` the same way.
"""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from cryptovol.alerts import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from cryptovol.prefect_api import start_server
from cryptovol.processes import terminate
from cryptovol.redis_runtime import free_port
from tests.flows.processes import CLI, SLOW, clean_env, processes_of, wait_ready
from tests.flows.regime import simulate
from tests.flows.test_schedule import _deployments, _run_now

pytestmark = pytest.mark.integration
SECRET = "s3cret-for-the-test"


class Receiver(BaseHTTPRequestHandler):
    received: list[tuple[dict, bytes]] = []

    def do_POST(self):  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers["content-length"]))
        Receiver.received.append((dict(self.headers), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


class Load:
    """Sequential requests from a thread until stopped: statuses and the versions answered."""

    def __init__(self, url: str):
        self.url, self.statuses, self.versions = url, [], []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run)

    def _run(self):
        while not self.stop.is_set() and len(self.statuses) < 50000:
            response = httpx.post(f"{self.url}/predict", json={"symbols": ["BTC", "C02"]}, timeout=30)
            self.statuses.append(response.status_code)
            if response.status_code == 200:
                answered = {p["model_version"] for p in response.json()["predictions"]}
                self.versions.append(answered.pop() if len(answered) == 1 else f"mixed {answered}")
            time.sleep(0.05)

    def until(self, version: str, budget_s: float) -> None:
        deadline = time.monotonic() + budget_s
        while time.monotonic() < deadline and (not self.versions or self.versions[-1] != version):
            time.sleep(0.5)


def test_a_regime_change_is_detected_retrained_promoted_alerted_and_served(tmp_path):
    home = tmp_path / "home"
    history, new = simulate()
    history.to_parquet(tmp_path / "history.parquet")
    receiver = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    env = clean_env(home, CRYPTOVOL_FOLDS="3", CRYPTOVOL_CHAMPION_POLL_SECONDS="2",
                    CRYPTOVOL_RETRAIN_DRIFT_CHECKS="1",
                    CRYPTOVOL_ALERT_WEBHOOK=f"http://127.0.0.1:{receiver.server_port}/hook",
                    CRYPTOVOL_ALERT_WEBHOOK_SECRET=SECRET)
    for step in (["ingest", str(tmp_path / "history.parquet")], ["train"]):
        out = subprocess.run([CLI, *step], env=env, capture_output=True, text=True, timeout=900 * SLOW)
        assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
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
    try:
        wait_ready(url, serve, serve_log)
        deadline = time.monotonic() + 300 * SLOW
        while len(found := _deployments(api)) < 3 and time.monotonic() < deadline:
            assert schedule.poll() is None, schedule_log.read_text()[-3000:]
            time.sleep(2)
        (home / "inbox").mkdir(exist_ok=True)
        new.to_parquet(home / "inbox" / "regime.parquet")
        refreshed = _run_now(api, found["refresh-1d"], 600 * SLOW)
        assert refreshed == "COMPLETED", schedule_log.read_text()[-3000:]
        assert list((home / "inbox" / "loaded").glob("*-regime.parquet"))

        load.thread.start()
        monitored = _run_now(api, found["monitor-1d"], 1500 * SLOW)
        assert monitored == "COMPLETED", schedule_log.read_text()[-3000:]
        load.until("2", budget_s=120 * SLOW)
        assert load.versions[0] == "1" and load.versions[-1] == "2", load.versions[-5:]

        # the signed webhook, with the figures
        assert len(Receiver.received) == 1
        headers, body = Receiver.received[0]
        assert headers[SIGNATURE_HEADER] == sign(body, SECRET, headers[TIMESTAMP_HEADER])
        alert = json.loads(body)
        fields = alert["fields"]
        assert alert["kind"] == "retrain" and fields["promoted"] is True
        assert fields["new_version"] == fields["serving_version"] == "2"
        assert "data drift on the last 1 checks" in fields["trigger"]
        assert fields["drift"]["judged"] and fields["drift"]["share"] > 0.5 and fields["drift"]["top"]
        assert fields["champion_performance"]["recent_scored"] > 0
        assert fields["gate"].startswith("PROMOTE") and fields["gate_numbers"]["holdout_qlike"] > 0
        assert Path(fields["reports"]["evaluation report"]).exists()
        assert "v2 promoted: now serving" in alert["text"]

        rollback = subprocess.run([CLI, "models", "rollback"], env=env, capture_output=True,
                                  text=True, timeout=120 * SLOW)
        assert rollback.returncode == 0, rollback.stderr
        load.until("1", budget_s=120 * SLOW)
        assert load.versions[-1] == "1"
    finally:
        load.stop.set()
        if load.thread.is_alive():
            load.thread.join(timeout=60)
        for proc in (schedule, serve):
            proc.send_signal(signal.SIGINT)
        for proc in (schedule, serve):
            try:
                proc.wait(timeout=90 * SLOW)
            except subprocess.TimeoutExpired:
                proc.kill()
        terminate(prefect, grace=5.0, group=True)
        receiver.shutdown()
    assert set(load.statuses) == {200} and not [v for v in load.versions if v.startswith("mixed")]
    assert "now serving crypto-vol-forecaster-1d-h7 v2 (was v1)" in serve_log.read_text()
    lines = (home / "monitoring" / "monitor_1d.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["kind"] for r in records] == ["monitor", "retrain"]
    assert records[0]["retrain"] is True and records[1]["promoted"] is True
    from mlflow import MlflowClient

    client = MlflowClient(f"sqlite:///{home / 'mlflow' / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("cryptovol-monitoring")
    (run,) = client.search_runs([experiment.experiment_id])
    assert run.data.tags["decision"] == records[0]["decision"] and run.data.tags["retrain"] == "true"
    assert run.data.metrics["drift_share"] > 0.5
    retrained = client.get_run(client.get_model_version("crypto-vol-forecaster-1d-h7", "2").run_id)
    assert "data drift" in retrained.data.tags["retrain_trigger"]
    assert not processes_of(home), "a process outlived the test"
