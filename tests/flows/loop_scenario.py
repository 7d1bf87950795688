"""The living loop's scenario, shared by the embedded and the production end-to-end tests.

A champion trained on calm years is served; the schedule runner serves the deployments. New bars
with a regime change (vol x3, persistent) land in the inbox; the scheduled refresh loads them, the
scheduled monitor detects the drift and the degradation, the policy retrains, the gate promotes, a
local receiver gets the signed webhook with the figures, and the running service answers with the
new champion — zero failed requests under a bounded load — and then follows a
`cryptovol models rollback` the same way.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

from cryptovol.alerts import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from tests.flows.processes import CLI, SLOW, clean_env
from tests.flows.test_schedule import _deployments, _run_now

SECRET = "s3cret-for-the-test"
MODEL = "crypto-vol-forecaster-1d-h7"


class Receiver(BaseHTTPRequestHandler):
    """The on-call webhook: keeps what it receives."""

    received: list[tuple[dict, bytes]] = []

    def do_POST(self):  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers["content-length"]))
        self.server.received.append((dict(self.headers), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def start_receiver() -> ThreadingHTTPServer:
    receiver = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    receiver.received = []
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    return receiver


def loop_env(home: Path, receiver: ThreadingHTTPServer, **extra: str) -> dict[str, str]:
    """Three folds (with two, the retrain on the new regime was not promoted), short polls, one
    drifted check retrains, the webhook with its secret."""
    return clean_env(home, CRYPTOVOL_FOLDS="3", CRYPTOVOL_CHAMPION_POLL_SECONDS="2",
                     CRYPTOVOL_RETRAIN_DRIFT_CHECKS="1",
                     CRYPTOVOL_ALERT_WEBHOOK=f"http://127.0.0.1:{receiver.server_port}/hook",
                     CRYPTOVOL_ALERT_WEBHOOK_SECRET=SECRET, **extra)


def cli(args: list[str], env: dict[str, str], timeout: float = 900) -> subprocess.CompletedProcess:
    out = subprocess.run([CLI, *args], env=env, capture_output=True, text=True, timeout=timeout * SLOW)
    assert out.returncode == 0, f"cryptovol {' '.join(args)}:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    return out


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

    def finish(self) -> None:
        self.stop.set()
        if self.thread.is_alive():
            self.thread.join(timeout=60)

    def assert_clean(self) -> None:
        assert self.statuses and set(self.statuses) == {200}, sorted(set(self.statuses))
        assert not [v for v in self.versions if v.startswith("mixed")]


def drive(api: str, url: str, home: Path, new, env: dict[str, str], load: Load,
          schedule_alive: Callable[[], None], schedule_log: Path,
          receiver: ThreadingHTTPServer) -> None:
    """From deployments served to a rollback followed by the service."""
    deadline = time.monotonic() + 300 * SLOW
    while len(found := _deployments(api)) < 3 and time.monotonic() < deadline:
        schedule_alive()
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
    check_alert(receiver.received)

    rollback = subprocess.run([CLI, "models", "rollback"], env=env, capture_output=True,
                              text=True, timeout=120 * SLOW)
    assert rollback.returncode == 0, rollback.stderr
    load.until("1", budget_s=120 * SLOW)
    assert load.versions[-1] == "1"


def check_alert(received: list[tuple[dict, bytes]]) -> None:
    """One signed webhook with the retrain's figures."""
    assert len(received) == 1, [body for _, body in received]
    headers, body = received[0]
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


def check_records(records: list[dict], tracking_uri: str) -> None:
    """The monitoring log and MLflow agree on what happened."""
    from mlflow import MlflowClient

    assert [r["kind"] for r in records] == ["monitor", "retrain"]
    assert records[0]["retrain"] is True and records[1]["promoted"] is True
    client = MlflowClient(tracking_uri, registry_uri=tracking_uri)
    experiment = client.get_experiment_by_name("cryptovol-monitoring")
    (run,) = client.search_runs([experiment.experiment_id])
    assert run.data.tags["decision"] == records[0]["decision"] and run.data.tags["retrain"] == "true"
    assert run.data.metrics["drift_share"] > 0.5
    retrained = client.get_run(client.get_model_version(MODEL, "2").run_id)
    assert "data drift" in retrained.data.tags["retrain_trigger"]
    champion = client.get_model_version_by_alias(MODEL, "champion")
    assert str(champion.version) == "1", champion  # rolled back
    assert "rolled_back" in client.get_model_version(MODEL, "2").tags
