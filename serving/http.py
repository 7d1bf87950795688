"""The service's HTTP edge: request ids, API keys, body and content-type limits, quiet client
errors, and bounded metric labels.

:class:`Guard` is an ASGI middleware (``Service.add_asgi_middleware``) in front of the API
routes; health, metrics and docs stay open. Error bodies are ``{"error", "request_id"}`` and
never carry paths or tracebacks.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
import uuid

from serving.openapi import corrected

log = logging.getLogger("serving.http")

API_PATHS = frozenset({"/predict"})
OPEN_PATHS = frozenset({"/", "/docs.json", "/livez", "/readyz", "/healthz", "/metrics"})
STATIC_PREFIX = "/static_content/"
REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
JSON_TYPES = frozenset({"application/json", ""})


def _trace_id() -> str | None:
    """The OpenTelemetry trace id BentoML's access log prints as ``trace=...``: used as the
    request id when the client sends none, so the access log line carries it too."""
    from opentelemetry import trace

    context = trace.get_current_span().get_span_context()
    return f"{context.trace_id:032x}" if context.trace_id else None


def known_path(path: str) -> bool:
    return path in API_PATHS or path in OPEN_PATHS or path.startswith(STATIC_PREFIX)


def bearer_keys(raw: str | None) -> list[bytes]:
    return [k.strip().encode() for k in (raw or "").split(",") if k.strip()]


class Guard:
    def __init__(self, app, api_keys: list[bytes], max_bytes: int) -> None:
        self.app = app
        self.api_keys = api_keys
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.lower(): v for k, v in scope.get("headers", [])}
        given = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = given if REQUEST_ID.match(given) else _trace_id() or uuid.uuid4().hex
        scope = {**scope, "headers": [*((k, v) for k, v in scope.get("headers", [])
                                        if k.lower() != b"x-request-id"),
                                      (b"x-request-id", request_id.encode())]}

        async def send_with_id(message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []),
                                                  (b"x-request-id", request_id.encode())]}
            await send(message)

        if scope["path"] == "/docs.json" and scope["method"] == "GET":
            await self._corrected_docs(scope, receive, send_with_id)
            return
        if scope["path"] not in API_PATHS:
            await self.app(scope, receive, send_with_id)
            return
        if self.api_keys and not self._authorized(headers.get(b"authorization", b"")):
            await _reply(send_with_id, 401, "missing or invalid API key: send "
                         "`Authorization: Bearer <key>`", request_id,
                         [(b"www-authenticate", b"Bearer")])
            return
        if scope["method"] == "POST":
            media = headers.get(b"content-type", b"").decode("latin-1").split(";")[0].strip().lower()
            if media not in JSON_TYPES:
                await _reply(send_with_id, 415, f"unsupported content type {media[:60]!r}: "
                             "send application/json", request_id)
                return
            body = await self._read_body(receive, headers)
            if body is None:
                await _reply(send_with_id, 413, f"request body larger than {self.max_bytes} "
                             "bytes", request_id)
                return
            receive = _replay(body)
        await self.app(scope, receive, send_with_id)

    async def _corrected_docs(self, scope, receive, send) -> None:
        """BentoML's OpenAPI document, with ``serving.openapi.corrected`` applied."""
        start: dict = {}
        chunks: list[bytes] = []

        async def capture(message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            else:
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, capture)
        body = b"".join(chunks)
        if start.get("status") == 200:
            body = json.dumps(corrected(json.loads(body), bool(self.api_keys))).encode()
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        await send({**start, "headers": [*headers, (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    def _authorized(self, header: bytes) -> bool:
        scheme, _, token = header.partition(b" ")
        if scheme.lower() != b"bearer" or not token:
            return False
        # compare with every key, in constant time per key
        return any([hmac.compare_digest(token.strip(), key) for key in self.api_keys])

    async def _read_body(self, receive, headers: dict) -> bytes | None:
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            return None
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                return None
            chunks.append(chunk)
            if not message.get("more_body"):
                break
        return b"".join(chunks)


def _replay(body: bytes):
    sent = False

    async def receive():
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


async def _reply(send, status: int, error: str, request_id: str,
                 extra: list[tuple[bytes, bytes]] | None = None) -> None:
    log.info("%d for request %s: %s", status, request_id, error)
    body = json.dumps({"error": error, "request_id": request_id}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()), *(extra or [])]})
    await send({"type": "http.response.body", "body": body})


class ClientErrorsAtInfo(logging.Filter):
    """BentoML logs every 400 (a request failing validation, a body that is not JSON) at ERROR
    with a traceback; they are the client's mistakes: one INFO line, no traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.exc_info or record.exc_info[1] is None:
            return True
        exc = record.exc_info[1]
        code = getattr(getattr(exc, "error_code", None), "value", None)
        client = type(exc).__name__ == "ValidationError" or (code is not None and code < 500)
        if client:
            record.levelno, record.levelname = logging.INFO, "INFO"
            summary = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
            record.msg = f"client error on %s [%s]: {summary.replace('%', '%%')}"
            record.exc_info, record.exc_text = None, None
        return True


def quiet_client_errors() -> None:
    logging.getLogger("bentoml._internal.server.http_app").addFilter(ClientErrorsAtInfo())


def bound_metric_labels() -> None:
    """BentoML labels request metrics with the raw path: requests to random paths would grow
    ``/metrics`` without bound. Unknown paths (404 anyway) share the label ``/__unknown__``."""
    from bentoml._internal.server.http.instruments import RunnerTrafficMetricsMiddleware as M

    if getattr(M, "_cryptovol_bounded", False):
        return
    original = M.__call__

    async def bounded(self, scope, receive, send):
        if scope.get("type") == "http" and not known_path(scope.get("path", "")):
            scope = {**scope, "path": "/__unknown__", "raw_path": b"/__unknown__"}
        await original(self, scope, receive, send)

    M.__call__, M._cryptovol_bounded = bounded, True
