"""Alert channels against a real local HTTP receiver: signed bodies, retries, a webhook that is
down, and secrets that never reach a log or a file."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from cryptovol import alerts
from cryptovol.redis_runtime import free_port
from cryptovol.settings import Settings

SECRET = "s3cret-signing-key"


class Receiver:
    """An HTTP server on 127.0.0.1 that answers with the queued status codes (then 200)."""

    def __init__(self, statuses: list[int] | None = None):
        self.statuses = list(statuses or [])
        self.requests: list[tuple[dict[str, str], bytes]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["content-length"]))
                outer.requests.append((dict(self.headers), body))
                self.send_response(outer.statuses.pop(0) if outer.statuses else 200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/T0KEN-in-the-path"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    made = []

    def make(statuses=None):
        made.append(Receiver(statuses))
        return made[-1]

    yield make
    for r in made:
        r.close()


ALERT = alerts.Alert(kind="retrain", title="BTC vol regime changed: retrained, v3 promoted",
                     text="*cryptovol* retrained", severity="warning",
                     fields={"gate": "PROMOTE: QLIKE 0.61 <= 0.66", "serving_version": "3"})


def test_signed_webhook_body_verifies_and_carries_a_slack_text(receiver, tmp_path):
    r = receiver()
    delivery = alerts.send(ALERT, tmp_path, r.url, SECRET, backoff=0.01)
    assert delivery.delivered and delivery.attempts == 1 and delivery.status == 200
    (headers, body), = r.requests
    stamp = headers[alerts.TIMESTAMP_HEADER]
    expected = "sha256=" + hmac.new(SECRET.encode(), stamp.encode() + b"." + body,
                                    hashlib.sha256).hexdigest()
    assert headers[alerts.SIGNATURE_HEADER] == expected
    payload = json.loads(body)
    assert payload["text"] == "*cryptovol* retrained" and payload["fields"]["serving_version"] == "3"


def test_5xx_is_retried_4xx_is_not(receiver, tmp_path):
    flaky = receiver([503, 500])
    ok = alerts.post_webhook(flaky.url, ALERT, retries=3, backoff=0.01)
    assert ok.delivered and ok.attempts == 3 and len(flaky.requests) == 3
    refused = receiver([404])
    no = alerts.post_webhook(refused.url, ALERT, retries=3, backoff=0.01)
    assert not no.delivered and no.attempts == 1 and no.error == "HTTP 404"


def test_a_webhook_that_is_down_never_fails_the_caller_and_is_recorded(tmp_path, caplog):
    url = f"http://127.0.0.1:{free_port()}/hooks/T0KEN-in-the-path"  # nobody listens there
    with caplog.at_level(logging.INFO, logger="cryptovol.alerts"):
        delivery = alerts.send(ALERT, tmp_path, url, SECRET, retries=2, backoff=0.01, timeout=1)
    assert not delivery.delivered and delivery.attempts == 3 and delivery.error == "ConnectError"
    (record,), torn = alerts.read_alerts(tmp_path / "alerts.jsonl")
    assert torn == 0 and record["kind"] == "retrain" and record["webhook"]["delivered"] is False
    assert record["webhook"]["to"] == "http://127.0.0.1/…"
    assert "ALERT retrain: BTC vol regime changed" in caplog.text
    assert "not delivered after 3 attempts (ConnectError)" in caplog.text
    everything = caplog.text + (tmp_path / "alerts.jsonl").read_text()
    assert "T0KEN" not in everything and SECRET not in everything


def test_settings_keep_the_webhook_secret_out_of_their_repr(tmp_path, monkeypatch, receiver):
    r = receiver()
    monkeypatch.setenv("CRYPTOVOL_ALERT_WEBHOOK", r.url)
    monkeypatch.setenv("CRYPTOVOL_ALERT_WEBHOOK_SECRET", SECRET)
    settings = Settings(home=tmp_path)
    assert "T0KEN" not in repr(settings) and SECRET not in repr(settings)
    assert alerts.send_configured(settings, ALERT).delivered
    assert alerts.SIGNATURE_HEADER in r.requests[0][0]


def test_a_torn_last_line_is_skipped_and_counted(tmp_path):
    path = tmp_path / "alerts.jsonl"
    alerts.append_alert(path, {"kind": "a"})
    alerts.append_alert(path, {"kind": "b"})
    with path.open("a") as f:
        f.write('{"kind": "c", "ti')  # a crash in the middle of an append
    alerts.append_alert(path, {"kind": "d"})  # the next append starts on a line of its own
    records, torn = alerts.read_alerts(path)
    assert [r["kind"] for r in records] == ["a", "b", "d"] and torn == 1
