"""A funder's decision system for tests: a real HTTP server on 127.0.0.1 (an ephemeral
port, in a thread) that speaks the protocol of ``yirong.credit.http_funder``.

It checks the platform's signature on every request (401 when it is wrong), records
every request it received (so tests can see exactly what left the platform), and
answers as the test scripts it: offers signed with the shared secret, or one of the
ways a funder's system goes wrong (slow, 5xx, garbage, a bad signature...).

A behaviour is a function from the request's JSON to a ``Reply``. ``FakeFunder.script``
queues behaviours for the next requests, one each; once the queue is empty every
request gets ``FakeFunder.default``. One server can serve many tests: ``reset``
between them."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from yirong.infra import signing

Json = dict[str, Any]
OfferDict = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Received:
    """One request as the funder's system got it."""

    path: str
    headers: Mapping[str, str]  # names in lower case
    body: bytes
    signature_ok: bool
    at: float  # time.monotonic() on arrival

    @property
    def json(self) -> Json:
        parsed: Json = json.loads(self.body)
        return parsed

    @property
    def tokens(self) -> list[str]:
        return [a["token"] for a in self.json["agents"]]


@dataclass(frozen=True, slots=True)
class Reply:
    status: int = 200
    body: bytes = b'{"offers":[]}'
    sign: bool = True  # add X-Funder-Timestamp / X-Funder-Signature
    signed_at: float | None = None  # the clock the answer is signed with (None: now)
    sign_body: bytes | None = None  # sign other bytes than the body sent (tampering)
    secret: str | None = None  # sign with another secret than the funder's
    timestamp: str | None = None  # send this X-Funder-Timestamp instead
    signature: str | None = None  # send this X-Funder-Signature instead
    delay: float = 0.0  # seconds to wait before answering anything
    headers: tuple[tuple[str, str], ...] = ()


Behaviour = Callable[[Json], Reply]


def offers_body(offers: Iterable[OfferDict]) -> bytes:
    return json.dumps({"offers": list(offers)}).encode()


def product_of(request: Json, code: str) -> Json:
    return next(p for p in request["products"] if p["code"] == code)


def within(product: Json) -> OfferDict:
    """An offer comfortably inside the product: rate and limit a third of the way
    up their ranges, the longest term up to 90 days."""
    low, high = Decimal(product["min_rate"]), Decimal(product["max_rate"])
    rate = (low + (high - low) / 3).quantize(Decimal("0.0001"))
    limit = product["min_limit"] + (product["max_limit"] - product["min_limit"]) // 3
    return {
        "product": product["code"],
        "limit": limit // 10_000 * 10_000,
        "annual_rate": str(rate),
        "term_days": min(product["max_term_days"], max(product["min_term_days"], 90)),
    }


# --- behaviours -------------------------------------------------------------------


def offering(plan: Callable[[str, Json], list[OfferDict]] | None = None, **reply: Any) -> Behaviour:
    """Offers for the agents in the request: by default one offer on product LINE
    inside its terms for every token; ``plan(token, request)`` gives each token's."""

    def default_plan(token: str, request: Json) -> list[OfferDict]:
        return [{"token": token, **within(product_of(request, "LINE"))}]

    chosen = plan or default_plan

    def behave(request: Json) -> Reply:
        offers = [o for a in request["agents"] for o in chosen(a["token"], request)]
        return Reply(body=offers_body(offers), **reply)

    return behave


def answering(offers: list[OfferDict], **reply: Any) -> Behaviour:
    """Always these offers, whatever was asked."""
    return lambda _request: Reply(body=offers_body(offers), **reply)


def replying(reply: Reply) -> Behaviour:
    return lambda _request: reply


def slow(seconds: float) -> Behaviour:
    """A correct answer, too late."""
    good = offering()
    return lambda request: replace(good(request), delay=seconds)


def status(code: int, body: bytes = b"Internal Server Error") -> Behaviour:
    return replying(Reply(status=code, body=body, headers=(("Content-Type", "text/plain"),)))


def garbage() -> Behaviour:
    """Not JSON, though correctly signed: the answer is wrong, not forged."""
    return replying(
        Reply(body=b"<html><body>502 Bad Gateway (nginx)</body></html>", headers=_html())
    )


def _html() -> tuple[tuple[str, str], ...]:
    return (("Content-Type", "text/html"),)


# --- the server ---------------------------------------------------------------------


@dataclass
class FakeFunder:
    secret: str
    default: Behaviour = field(default_factory=offering)
    received: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._script: deque[Behaviour] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.fake = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/preapproval"

    def script(self, *behaviours: Behaviour) -> None:
        """The next requests get these behaviours, one each, then ``default``."""
        with self._lock:
            self._script.extend(behaviours)

    def reset(self) -> FakeFunder:
        """As new, for the next test: nothing received, nothing scripted, good offers
        by default; answers still being delayed from before give up."""
        with self._lock:
            waiting, self._stopping = self._stopping, threading.Event()
            waiting.set()
            self._script.clear()
            self.received.clear()
            self.default = offering()
        return self

    def start(self) -> FakeFunder:
        self._thread.start()
        return self

    def stop(self) -> None:
        with self._lock:
            self._stopping.set()  # wakes any slow answer, which then gives up
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeFunder:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def bodies(self) -> list[bytes]:
        with self._lock:
            return [r.body for r in self.received]

    @property
    def tokens(self) -> list[str]:
        """Every token sent, in order, over all requests."""
        with self._lock:
            return [t for r in self.received for t in r.tokens]

    def _record(self, received: Received) -> None:
        with self._lock:
            self.received.append(received)

    def _next(self) -> Behaviour:
        with self._lock:
            return self._script.popleft() if self._script else self.default

    def _answer(self, path: str, headers: Mapping[str, str], body: bytes) -> Reply | None:
        ok = signing.verify(
            self.secret, headers.get("x-yirong-timestamp"), body, headers.get("x-yirong-signature")
        )
        self._record(Received(path, headers, body, ok, time.monotonic()))
        if not ok:
            return Reply(status=401, body=b'{"error":"bad signature"}', sign=False)
        with self._lock:
            stopping = self._stopping
        reply = self._next()(json.loads(body))
        if reply.delay and stopping.wait(reply.delay):
            return None  # the test is over: answer nothing
        return reply

    def _headers_for(self, reply: Reply) -> list[tuple[str, str]]:
        out = [("Content-Type", "application/json"), *reply.headers]
        if reply.sign:
            timestamp, signature = signing.sign(
                reply.secret or self.secret,
                reply.body if reply.sign_body is None else reply.sign_body,
                now=reply.signed_at,
            )
            out.append(("X-Funder-Timestamp", timestamp))
            out.append(("X-Funder-Signature", signature))
        if reply.timestamp is not None:
            out = [h for h in out if h[0] != "X-Funder-Timestamp"]
            out.append(("X-Funder-Timestamp", reply.timestamp))
        if reply.signature is not None:
            out = [h for h in out if h[0] != "X-Funder-Signature"]
            out.append(("X-Funder-Signature", reply.signature))
        # The last Content-Type given wins.
        content_type = [h for h in out if h[0] == "Content-Type"][-1]
        return [content_type, *(h for h in out if h[0] != "Content-Type")]


class _Handler(BaseHTTPRequestHandler):
    server_version = "FakeFunder/1.0"

    def do_POST(self) -> None:
        fake: FakeFunder = self.server.fake  # type: ignore[attr-defined]
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {name.lower(): value for name, value in self.headers.items()}
        reply = fake._answer(self.path, headers, body)
        if reply is None:
            return
        try:
            self.send_response(reply.status)
            for name, value in fake._headers_for(reply):
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the platform gave up waiting (a slow answer): nothing to do

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet tests
