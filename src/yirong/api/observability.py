"""One pure-ASGI middleware for what every request shares: a request id (taken from
``X-Request-Id`` when sane, else made), the body's size and type checked before any
route sees it, one structured log line, Prometheus metrics, and the audit log (every
operator's request, and anyone's on a route marked ``x-audited``: API keys). Logs
carry the route's template and the caller's handle, never a body, a header value or
a query string: secrets and personal data stay out."""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.concurrency import run_in_threadpool

from yirong.access.principals import Principal
from yirong.access.service import record_action
from yirong.api.signing import BODY_DIGEST
from yirong.api.text_guard import TextRefused, check_query, clean_json
from yirong.api.uploads import (
    CSV_TYPES,
    DOCUMENT_TYPES,
    FORM_ROOM,
    FORM_SUFFIX,
    MULTIPART,
    STATEMENT_TYPES,
)
from yirong.errors import CATALOGUE
from yirong.infra.db import Database
from yirong.orders.purchase import MAX_DOCUMENT_BYTES
from yirong.roles import Role

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MAX_BODY_BYTES = 256 * 1024
# Routes that take a file rather than JSON, and how large it may be.
RAW_BODIES: dict[str, tuple[tuple[str, ...], int]] = {
    "/api/v1/commissions/files": (CSV_TYPES, 50 << 20),
    "/api/v1/commissions/files" + FORM_SUFFIX: ((MULTIPART,), 50 << 20),
    "/api/v1/bank-statements": (STATEMENT_TYPES, 200 << 20),
    "/api/v1/bank-statements" + FORM_SUFFIX: ((MULTIPART,), 200 << 20),
    # The console's one multipart form: an agent's order document (its reference is a
    # field of the form, so the path is fixed).
    "/agent/order-documents": ((MULTIPART,), MAX_DOCUMENT_BYTES + FORM_ROOM),
}
# The same, for routes with a path parameter: a funder's own daily file, to compare;
# an order's document.
_COMPARE = r"^/api/v1/funders/[^/]+/files/[^/]+/[^/]+/compare"
_DOCUMENT = r"^/api/v1/orders/[^/]+/documents"
RAW_BODY_ROUTES: tuple[tuple[re.Pattern[str], tuple[str, ...], int], ...] = (
    (re.compile(_COMPARE + "$"), CSV_TYPES, 500 << 20),
    (re.compile(_COMPARE + re.escape(FORM_SUFFIX) + "$"), (MULTIPART,), 500 << 20),
    (re.compile(_DOCUMENT + "$"), DOCUMENT_TYPES, MAX_DOCUMENT_BYTES),
    (
        re.compile(_DOCUMENT + re.escape(FORM_SUFFIX) + "$"),
        (MULTIPART,),
        MAX_DOCUMENT_BYTES + FORM_ROOM,
    ),
)
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
log = logging.getLogger("yirong.api")


# Swagger UI's page starts itself with an inline script and styles; everything else
# the service answers is data, which no browser should run, frame or cache.
_DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline';"
    " img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'"
)
_API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"
# The console's pages load their own styles and scripts, from this site only, and
# post their forms only here.
_CONSOLE_CSP = (
    "default-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none';"
    " base-uri 'none'"
)
_SERVICE_PATHS = ("/api/", "/docs", "/static/", "/healthz", "/readyz", "/metrics", "/openapi")
FORM = "application/x-www-form-urlencoded"
CONSOLE_FORM_BYTES = 64 * 1024


def is_console(path: str) -> bool:
    """Whether ``path`` is a console page (everything the API and docs are not)."""
    return not path.startswith(_SERVICE_PATHS)


def security_headers(path: str, *, https: bool) -> list[tuple[bytes, bytes]]:
    """The headers every response carries: no MIME sniffing, a content security
    policy, never framed, no referrer; nothing the API answers is cached (balances,
    personal data, tokens); HSTS when served over https."""
    docs = path == "/docs" or path.startswith("/static/")
    policy = _DOCS_CSP if docs else _CONSOLE_CSP if is_console(path) else _API_CSP
    found = [
        (b"x-content-type-options", b"nosniff"),
        (b"content-security-policy", policy.encode()),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"no-referrer"),
    ]
    if not docs:
        found.append((b"cache-control", b"no-store"))
    if https:
        found.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))
    return found


def _body_rule(path: str) -> tuple[tuple[str, ...], int]:
    """The media types a route's body may have, and its largest size."""
    found = RAW_BODIES.get(path)
    if found is not None:
        return found
    if is_console(path):  # the console's forms
        return (FORM,), CONSOLE_FORM_BYTES
    for pattern, types, limit in RAW_BODY_ROUTES:
        if pattern.match(path):
            return types, limit
    return ("application/json",), MAX_BODY_BYTES


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "yirong_http_requests",
            "HTTP requests answered, by route template and status.",
            ("method", "route", "status"),
            registry=self.registry,
        )
        self.duration = Histogram(
            "yirong_http_request_duration_seconds",
            "Time to answer, by route template.",
            ("method", "route"),
            registry=self.registry,
            buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )


def audited(who: Principal, method: str) -> bool:
    """Everything an operator asks (reads of personal data included), and every change
    made through a person's sign-in, whatever their role. A funder system's calls with
    an API key are recorded where they act (notices, idempotency records)."""
    if who.role is Role.OPERATOR:
        return True
    return who.user is not None and method not in ("GET", "HEAD", "OPTIONS")


class RequestMiddleware:
    def __init__(self, app: ASGIApp, db: Database, metrics: Metrics) -> None:
        self.app = app
        self.db = db
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        given = headers.get("x-request-id", "")
        request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        status = 500

        secure = security_headers(scope["path"], https=scope.get("scheme") == "https")

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                given = {name.lower() for name, _ in message["headers"]}
                message["headers"] = [
                    *message["headers"],
                    (b"x-request-id", request_id.encode()),
                    *((k, v) for k, v in secure if k not in given),
                ]
            await send(message)

        try:
            checked = await _check_body(scope, receive, headers)
            if isinstance(checked, str):
                await _refuse(scope, send_with_id, checked, request_id)
            else:
                await self.app(scope, checked, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            method = scope["method"]
            self.metrics.requests.labels(method, route, str(status)).inc()
            self.metrics.duration.labels(method, route).observe(elapsed)
            principal = state.get("principal")
            caller = principal.handle if isinstance(principal, Principal) else None
            log.info(
                "request",
                extra={
                    "request_id": request_id,
                    "method": method,
                    "route": route,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 2),
                    "caller": caller,
                },
            )
            if (
                isinstance(principal, Principal)
                and not state.get("audit_done")  # written with the request's own transaction
                and (audited(principal, method) or audited_route(scope.get("route")))
            ):
                await run_in_threadpool(
                    record_action,
                    self.db,
                    principal,
                    f"{method} {route}",
                    scope["path"],
                    status,
                    request_id,
                    state.get("audit_detail"),
                )


def audited_route(route: Any) -> bool:
    """Routes audited whoever calls them (``security.AUDITED``: credentials)."""
    extra = getattr(route, "openapi_extra", None) or {}
    return bool(extra.get("x-audited"))


async def _check_body(scope: Scope, receive: Receive, headers: dict[str, str]) -> Receive | str:
    """The body read whole (so its size is known even when chunked) and handed on, or
    the refusal's code. Every string of a JSON body and of the query is checked and
    put in NFC on the way (``text_guard``)."""
    try:
        check_query(scope.get("query_string", b""))
    except TextRefused:
        return "text_invalid"
    if scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE"):
        return receive
    allowed, limit = _body_rule(scope["path"])
    declared = headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        return "body_too_large"
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return "body_too_large"
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    media = headers.get("content-type", "").split(";")[0].strip().lower()
    if (
        body
        and media not in allowed
        and not ("application/json" in allowed and media.endswith("+json"))
    ):
        return "content_type_unsupported"
    if body and (media == "application/json" or media.endswith("+json")):
        try:
            cleaned = clean_json(body)
        except TextRefused:
            return "text_invalid"
        if cleaned is not body:
            # A signature covers the body as sent, not as put in NFC here.
            scope.setdefault("state", {})[BODY_DIGEST] = hashlib.sha256(body).hexdigest()
            body = cleaned
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


async def _refuse(scope: Scope, send: Send, code: str, request_id: str) -> None:
    spec = CATALOGUE[code]
    body = json.dumps(
        {
            "type": f"/api/v1/problems/{code}",
            "title": spec.message,
            "status": spec.status,
            "detail": spec.message,
            "code": code,
            "instance": scope["path"],
            "request_id": request_id,
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": spec.status,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class JsonFormatter(logging.Formatter):
    """One JSON object per line: what log shippers read without a grammar."""

    FIELDS = (
        "request_id",
        "method",
        "route",
        "status",
        "duration_ms",
        "caller",
        "path",
        "job",
        "pid",
    )

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for name in self.FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                data[name] = value
        if record.exc_info:
            data["error"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger("yirong")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
