"""Alert channels: a log line and ``alerts.jsonl`` always, and a webhook when one is configured.

An :class:`Alert` is plain data (its content is decided by pure functions in ``monitoring``);
:func:`send` delivers it. The webhook gets the alert as JSON with a Slack-compatible ``text``;
with a secret set, the body is signed: ``X-Cryptovol-Signature: sha256=<HMAC-SHA256 of the body>``
(and ``X-Cryptovol-Timestamp``, part of what is signed, against replays). Delivery has a timeout
and retries with back-off; a webhook that stays down never fails the flow that alerts — the
outcome is logged and recorded in ``alerts.jsonl``. The webhook URL and the secret are never
logged or printed (a Slack URL is itself a credential): only the URL's host is.

``alerts.jsonl`` is append-only: each record is one ``write`` of one line under the file's lock,
then fsynced, so a crash can at worst leave a torn last line, which :func:`read_alerts` skips
and counts.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx

from cryptovol import files
from cryptovol.settings import Settings

log = logging.getLogger("cryptovol.alerts")
SIGNATURE_HEADER = "X-Cryptovol-Signature"
TIMESTAMP_HEADER = "X-Cryptovol-Timestamp"


@dataclass(frozen=True)
class Alert:
    kind: str  # retrain, promotion, rollback, failure, load_failure, ...
    title: str
    text: str  # human summary, Slack-compatible (mrkdwn)
    severity: str = "info"  # info, warning, error
    fields: dict[str, Any] = field(default_factory=dict)
    at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())

    def body(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Delivery:
    delivered: bool
    attempts: int
    status: int | None = None
    error: str | None = None


def sign(body: bytes, secret: str, timestamp: str) -> str:
    """``sha256=`` + hex HMAC-SHA256 of ``timestamp.body`` with ``secret``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def redact(url: str) -> str:
    """What may be shown of a webhook URL: its scheme and host."""
    parsed = urlparse(url)
    return f"{parsed.scheme}://{parsed.hostname or '?'}/…"


def post_webhook(url: str, alert: Alert, secret: str | None = None, timeout: float = 5.0,
                 retries: int = 3, backoff: float = 0.5,
                 client: httpx.Client | None = None) -> Delivery:
    """POST the alert; retried on connection errors and 5xx/429 answers, not on other 4xx."""
    body = json.dumps(alert.body(), default=str).encode()
    error, status = None, None
    own = client is None
    client = client or httpx.Client(timeout=timeout)
    try:
        for attempt in range(1, retries + 2):
            stamp = str(int(time.time()))
            headers = {"content-type": "application/json", TIMESTAMP_HEADER: stamp}
            if secret:
                headers[SIGNATURE_HEADER] = sign(body, secret, stamp)
            try:
                response = client.post(url, content=body, headers=headers, timeout=timeout)
                status = response.status_code
                if status < 300:
                    return Delivery(True, attempt, status)
                error = f"HTTP {status}"
                if status < 500 and status != 429:
                    return Delivery(False, attempt, status, error)
            except httpx.HTTPError as exc:
                error = type(exc).__name__
            if attempt <= retries:
                time.sleep(backoff * 2 ** (attempt - 1))
        return Delivery(False, retries + 1, status, error)
    finally:
        if own:
            client.close()


def append_alert(path: Path, record: dict[str, Any]) -> None:
    """Append one alert to ``alerts.jsonl`` (see :func:`cryptovol.files.append_jsonl`)."""
    files.append_jsonl(path, record)


def read_alerts(path: Path) -> tuple[list[dict[str, Any]], int]:
    """The recorded alerts, and how many torn lines (a crash mid-append) were skipped."""
    return files.read_jsonl(path)


def send(alert: Alert, home: Path, webhook: str | None = None, secret: str | None = None,
         **webhook_options: Any) -> Delivery | None:
    """Deliver ``alert`` to every channel; returns the webhook's delivery (None without one)."""
    level = {"error": logging.ERROR, "warning": logging.WARNING}.get(alert.severity, logging.INFO)
    log.log(level, "ALERT %s: %s", alert.kind, alert.title)
    delivery = post_webhook(webhook, alert, secret, **webhook_options) if webhook else None
    record = alert.body()
    if delivery is not None:
        record["webhook"] = {"to": redact(webhook), **asdict(delivery)}
        if not delivery.delivered:
            log.warning("alert webhook %s not delivered after %d attempts (%s)", redact(webhook),
                        delivery.attempts, delivery.error)
    append_alert(home / "alerts.jsonl", record)
    return delivery


def send_configured(settings: Settings, alert: Alert) -> Delivery | None:
    """:func:`send` to the channels ``settings`` configure (``CRYPTOVOL_ALERT_WEBHOOK``, ...)."""
    webhook, secret = settings.alert_webhook, settings.alert_webhook_secret
    return send(alert, settings.home, webhook.get_secret_value() if webhook else None,
                secret.get_secret_value() if secret else None)
