"""The service's HTTP edge: request ids, API keys, body and content-type limits, one shape for
every error, quiet client errors, and bounded metric labels.

:class:`Guard` is an ASGI middleware (``Service.add_asgi_middleware``) in front of the routes.
The API needs a key when keys are configured; health and docs stay open, and ``/metrics`` too
unless ``CRYPTOVOL_METRICS_REQUIRE_KEY`` (its counts are aggregates, without client data or
secrets; Prometheus can send a bearer key when the network is not trusted). Every error body —
BentoML's own validation answers included — is ``{"error", "request_id", ...}`` naming the field,
never a path or a traceback; ``/readyz``'s 503 says why the service is not ready.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
import uuid
from collections.abc import Callable

from serving.openapi import corrected

log = logging.getLogger("serving.http")

API_PATHS = frozenset({"/predict"})
OPEN_PATHS = frozenset({"/", "/docs.json", "/livez", "/readyz", "/healthz", "/metrics"})
STATIC_PREFIX = "/static_content/"
SHOWN_ERRORS = 3  # validation errors named in the one-line message (all are in ``detail``)
REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
JSON_TYPES = frozenset({"application/json", ""})


def _trace_id() -> str | None:
    """The OpenTelemetry trace id BentoML's access log prints as ``trace=...``: used as the
    request id when the client sends none, so the access log line carries it too."""
    from opentelemetry import trace

    context = trace.get_current_span().get_span_context()
    return f"{context.trace_id:032x}" if context.trace_id else None


def metric_path(path: str) -> str:
    """The path label of BentoML's request metrics: one per route, one for every static file of
    the docs UI, one for anything else — a bounded set, whatever clients request."""
    if path in API_PATHS or path in OPEN_PATHS:
        return path
    return STATIC_PREFIX + "*" if path.startswith(STATIC_PREFIX) else "/__unknown__"


def bearer_keys(raw: str | None) -> list[bytes]:
    return [k.strip().encode() for k in (raw or "").split(",") if k.strip()]


class Guard:
    def __init__(self, app, api_keys: list[bytes], max_bytes: int, metrics_key: bool = False,
                 not_ready: Callable[[], str] = lambda: "") -> None:
        self.app = app
        self.api_keys = api_keys
        self.max_bytes = max_bytes
        self.keyed = API_PATHS | ({"/metrics"} if metrics_key else set())
        self.not_ready = not_ready  # why /readyz is 503 (serving.readiness)

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
        if self.api_keys and scope["path"] in self.keyed and not self._authorized(
                headers.get(b"authorization", b"")):
            await _reply(send_with_id, 401, "missing or invalid API key: send "
                         "`Authorization: Bearer <key>`", request_id,
                         [(b"www-authenticate", b"Bearer")])
            return
        if scope["path"] == "/readyz":
            await self.app(scope, receive, _errors_as_json(send_with_id, request_id, self.not_ready))
            return
        send_with_id = _errors_as_json(send_with_id, request_id)  # a 404 route, a 405 method too
        if scope["path"] not in API_PATHS:
            await self.app(scope, receive, send_with_id)
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


def _one_line(body: bytes) -> tuple[str, dict]:
    """The message of an error body another layer wrote, and the fields it names: BentoML's
    ``{"error": "1 validation error for Input", "detail": [{"loc", "msg", ...}]}``, its
    ``[{"error": ...}]`` for other client errors, Starlette's ``{"detail": ...}`` or plain text."""
    try:
        found = json.loads(body)
    except ValueError:
        return body.decode(errors="replace").strip()[:300] or "invalid request", {}
    if isinstance(found, list) and found and isinstance(found[0], dict):
        found = found[0]
    if not isinstance(found, dict):
        return str(found)[:300], {}
    detail = found.get("detail")
    if isinstance(detail, list) and detail and all(isinstance(d, dict) for d in detail):
        parts, fields = [], []
        for d in detail:
            loc = [str(p) for p in d.get("loc", ()) if p not in ("body",)]
            field = ".".join(loc) or "body"
            fields.append(loc[0] if loc else "body")
            parts.append(f"{field}: {d.get('msg', 'invalid')}")
        more = f" (and {len(parts) - SHOWN_ERRORS} more)" if len(parts) > SHOWN_ERRORS else ""
        return ("invalid request: " + "; ".join(parts[:SHOWN_ERRORS]) + more,
                {"fields": list(dict.fromkeys(fields)),
                 "detail": [{k: d.get(k) for k in ("type", "loc", "msg")} for d in detail]})
    message = found.get("error") or detail or "invalid request"
    return str(message).splitlines()[0][:300], {}


def _errors_as_json(send, request_id: str, reason: Callable[[], str] | None = None):
    """``send`` that rewrites a 4xx/5xx body lacking our shape into ``{"error", "request_id"}``
    (``reason``: the message to use instead, e.g. why the service is not ready)."""
    start: dict = {}
    chunks: list[bytes] = []

    async def rewrite(message) -> None:
        if message["type"] == "http.response.start":
            if message["status"] < 400:
                await send(message)
                return
            start.update(message)
            return
        if not start:
            await send(message)
            return
        chunks.append(message.get("body", b""))
        if message.get("more_body"):
            return
        body = b"".join(chunks)
        try:
            ours = json.loads(body)
            if isinstance(ours, dict) and "error" in ours and "request_id" in ours:
                await _send(send, start, body)
                return
        except ValueError:
            pass
        text, extra = _one_line(body)
        if reason is not None:
            text = reason() or text
        if start["status"] < 500:
            log.info("%d for request %s: %s", start["status"], request_id, text)
        await _send(send, start, json.dumps({"error": text, "request_id": request_id,
                                             **extra}).encode())

    return rewrite


async def _send(send, start: dict, body: bytes) -> None:
    headers = [(k, v) for k, v in start.get("headers", [])
               if k.lower() not in (b"content-length", b"content-type")]
    await send({**start, "headers": [*headers, (b"content-type", b"application/json"),
                                     (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


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
    await _send(send, {"type": "http.response.start", "status": status, "headers": extra or []},
                json.dumps({"error": error, "request_id": request_id}).encode())


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


REAL_PATH = "cryptovol.real_path"


def _restore_path_below(middleware) -> None:
    """Make the metrics middleware's app see the request's real path again."""
    if getattr(middleware, "_cryptovol_restores", False):
        return
    inner = middleware.app

    async def restore(scope, receive, send):
        if REAL_PATH in scope:
            path, raw = scope[REAL_PATH]
            scope = {**scope, "path": path, "raw_path": raw}
        await inner(scope, receive, send)

    middleware.app, middleware._cryptovol_restores = restore, True


def bound_metric_labels() -> None:
    """BentoML labels request metrics with the raw path: requests to random paths (or to every
    file under ``/static_content/``) would grow ``/metrics`` without bound; they get the labels
    of :func:`metric_path` instead."""
    from bentoml._internal.server.http.instruments import RunnerTrafficMetricsMiddleware as M

    if getattr(M, "_cryptovol_bounded", False):
        return
    original = M.__call__

    async def bounded(self, scope, receive, send):
        if scope.get("type") == "http":
            label = metric_path(scope.get("path", ""))
            if label != scope.get("path"):
                _restore_path_below(self)  # the label changes; the route the app sees does not
                scope = {**scope, "path": label, "raw_path": label.encode(),
                         REAL_PATH: (scope["path"], scope.get("raw_path"))}
        await original(self, scope, receive, send)

    M.__call__, M._cryptovol_bounded = bounded, True
