"""A small HTTP/1.1 load generator for benchmarks: many clients, each a coroutine on a
keep-alive connection to 127.0.0.1, spread over one or more processes, every request
timed. Requests are prebuilt bytes and answers are parsed only as far as the status
line, the headers a body needs and (when a client asks for it) the body, so that the
generator costs far less per request than the server it measures.

Traffic goes only to the loopback address, and every run is bounded twice: in time
(no request starts after the deadline; one still unanswered a grace period later is
an error) and in count (a budget of requests)."""

from __future__ import annotations

import asyncio
import json
import math
import multiprocessing as mp
import queue
import socket
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

HOST = "127.0.0.1"
GRACE_SECONDS = 30.0  # how long a request may still take after the deadline
MAX_REQUESTS = 20_000_000  # a run's hard ceiling on requests, whatever its length


def free_port() -> int:
    """A TCP port on the loopback address nobody listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


def build_request(
    method: str,
    path: str,
    port: int,
    headers: dict[str, str] | None = None,
    body: Any = None,
) -> bytes:
    """The bytes of one request (a JSON body when ``body`` is not None)."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}:{port}"]
    payload = b""
    if body is not None:
        payload = json.dumps(body, separators=(",", ":")).encode()
        lines += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload


def build_upload(
    path: str, port: int, headers: dict[str, str], content: bytes, content_type: str
) -> bytes:
    """The bytes of a POST carrying a file (a bank statement) as its body."""
    lines = [
        f"POST {path} HTTP/1.1",
        f"Host: {HOST}:{port}",
        f"Content-Type: {content_type}",
        f"Content-Length: {len(content)}",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + content


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class TransportError(Exception):
    """The connection failed or answered something that is not HTTP/1.1."""


class Connection:
    """One keep-alive connection; reconnects when the server closed it."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, raw: bytes) -> Reply:
        try:
            if self.writer is None:
                self.reader, self.writer = await asyncio.open_connection(HOST, self.port)
            assert self.reader is not None
            self.writer.write(raw)
            head = await self.reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            lower = head.lower()
            at = lower.find(b"\r\ncontent-length:")
            if at >= 0:
                end = lower.index(b"\r\n", at + 2)
                body = await self.reader.readexactly(int(lower[at + 17 : end]))
            elif b"\r\ntransfer-encoding: chunked" in lower:
                body = await self._chunked()
            else:
                body = b""
            if b"\r\nconnection: close" in lower:
                self.close()
            return Reply(status, body)
        except (OSError, ValueError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as e:
            self.close()
            raise TransportError(f"{type(e).__name__}: {e}") from e

    async def _chunked(self) -> bytes:
        assert self.reader is not None
        parts: list[bytes] = []
        while True:
            size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await self.reader.readuntil(b"\r\n")
                return b"".join(parts)
            parts.append(await self.reader.readexactly(size))
            await self.reader.readexactly(2)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


@dataclass
class Tally:
    """What one run (or one process's share of it) saw."""

    seconds: float = 0.0
    cpu_seconds: float = 0.0  # the generator's own CPU time
    latencies: dict[str, list[float]] = field(default_factory=dict)  # seconds, by kind
    refused: Counter[str] = field(default_factory=Counter)  # expected refusals, by code
    errors: Counter[str] = field(default_factory=Counter)  # by kind and reason
    anomalies: list[str] = field(default_factory=list)  # a few examples of the errors

    @property
    def answered(self) -> int:
        return sum(len(v) for v in self.latencies.values())

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def merge(self, other: Tally) -> None:
        self.seconds = max(self.seconds, other.seconds)
        self.cpu_seconds += other.cpu_seconds
        for kind, values in other.latencies.items():
            self.latencies.setdefault(kind, []).extend(values)
        self.refused.update(other.refused)
        self.errors.update(other.errors)
        self.anomalies.extend(other.anomalies[: 10 - len(self.anomalies)])

    def all_latencies(self) -> list[float]:
        return sorted(v for values in self.latencies.values() for v in values)


class Done(Exception):
    """The run is over for this client: the deadline passed or the budget is spent."""


class Session:
    """A client's way to send requests: each one timed and judged, and refused once
    the run is over."""

    def __init__(self, port: int, tally: Tally, deadline: float, budget: list[int]) -> None:
        self.connection = Connection(port)
        self.tally = tally
        self.deadline = deadline
        self.budget = budget  # shared by the process's clients: [requests left]

    async def call(
        self,
        kind: str,
        raw: bytes,
        ok: int = 200,
        refusals: frozenset[str] = frozenset(),
        force: bool = False,
    ) -> Reply | None:
        """The answer when its status is ``ok``; None when it was refused with one of
        the expected ``refusals`` (counted apart) or was an error (counted as one).
        ``force``: sent even once the run is over (to finish what a client began)."""
        if not force and (self.budget[0] <= 0 or time.monotonic() >= self.deadline):
            raise Done
        self.budget[0] -= 1
        started = time.perf_counter()
        try:
            reply = await self.connection.request(raw)
        except TransportError as e:
            self._error(kind, "transport", str(e))
            return None
        elapsed = time.perf_counter() - started
        if reply.status == ok:
            self.tally.latencies.setdefault(kind, []).append(elapsed)
            return reply
        code = _problem_code(reply)
        if 400 <= reply.status < 500 and code in refusals:
            self.tally.latencies.setdefault(kind, []).append(elapsed)
            self.tally.refused[f"{kind}:{code}"] += 1
            return None
        self._error(kind, str(reply.status), f"{code or ''} {reply.body[:300]!r}")
        return None

    def anomaly(self, kind: str, what: str) -> None:
        """An answer with the right status but the wrong content (an error too)."""
        self._error(kind, "content", what)

    def _error(self, kind: str, reason: str, detail: str) -> None:
        self.tally.errors[f"{kind}:{reason}"] += 1
        if len(self.tally.anomalies) < 10:
            self.tally.anomalies.append(f"{kind} {reason}: {detail}"[:400])


def _problem_code(reply: Reply) -> str | None:
    try:
        code = json.loads(reply.body).get("code")
    except (ValueError, AttributeError):
        return None
    return code if isinstance(code, str) else None


# One client: given its index and a session, sends requests until Done.
Client = Callable[[int, Session], Awaitable[None]]


async def _run_clients(
    port: int, client: Client, indexes: Sequence[int], start_at: float, seconds: float, budget: int
) -> Tally:
    tally = Tally()
    await asyncio.sleep(max(0.0, start_at - time.time()))
    started = time.perf_counter()
    cpu = time.process_time()
    deadline = time.monotonic() + seconds
    left = [budget]
    sessions = [Session(port, tally, deadline, left) for _ in indexes]

    async def one(index: int, session: Session) -> None:
        try:
            await client(index, session)
        except Done:
            pass
        finally:
            session.connection.close()

    tasks = [asyncio.create_task(one(i, s)) for i, s in zip(indexes, sessions, strict=True)]
    _, pending = await asyncio.wait(tasks, timeout=seconds + GRACE_SECONDS)
    for task in pending:  # stuck past the grace period: an error each
        task.cancel()
        tally.errors["timeout"] += 1
    for task in tasks:
        if task.done() and not task.cancelled() and task.exception() is not None:
            tally.errors["client_crashed"] += 1
            tally.anomalies.append(repr(task.exception())[:400])
    tally.seconds = time.perf_counter() - started
    tally.cpu_seconds = time.process_time() - cpu
    return tally


def _in_process(
    port: int,
    client: Client,
    indexes: Sequence[int],
    start_at: float,
    seconds: float,
    budget: int,
    out: Any,
) -> None:
    out.put(asyncio.run(_run_clients(port, client, indexes, start_at, seconds, budget)))


def run_load(
    port: int,
    client: Client,
    *,
    clients: int,
    seconds: float,
    processes: int = 1,
    max_requests: int = MAX_REQUESTS,
) -> Tally:
    """``clients`` clients (``client(index, session)``) for ``seconds`` against the
    server on 127.0.0.1:``port``, from ``processes`` processes (forked: a client and
    what it closes over need not be picklable); their tallies merged."""
    if processes <= 1:
        return asyncio.run(
            _run_clients(port, client, range(clients), time.time(), seconds, max_requests)
        )
    ctx = mp.get_context("fork")
    out = ctx.Queue()
    start_at = time.time() + 0.5  # every process starts its clients at once
    shares = [range(p, clients, processes) for p in range(processes)]
    children = [
        ctx.Process(
            target=_in_process,
            args=(port, client, share, start_at, seconds, max_requests // processes, out),
        )
        for share in shares
    ]
    for child in children:
        child.start()
    tally = Tally()
    try:
        for _ in children:
            while True:
                try:
                    tally.merge(out.get(timeout=1))
                    break
                except queue.Empty:
                    if not any(c.is_alive() for c in children) and out.empty():
                        raise RuntimeError("a load generator process died") from None
    finally:
        for child in children:
            child.join(timeout=GRACE_SECONDS)
            if child.is_alive():
                child.kill()
    return tally


def percentile(ordered: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) of sorted values, nearest rank."""
    if not ordered:
        return 0.0
    rank = max(1, min(len(ordered), math.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]


# ---------------------------------------------------------------- the generator's own limit


_CANNED = (
    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 15\r\n\r\n"
    b'{"status":"ok"}'
)


class _Canned(asyncio.Protocol):
    """A server that answers every request with the same bytes, parsing nothing but
    the blank line that ends a GET: the cheapest server there is."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.pending = b""

    def data_received(self, data: bytes) -> None:
        self.pending += data
        answers = self.pending.count(b"\r\n\r\n")
        if answers:
            self.pending = self.pending[self.pending.rindex(b"\r\n\r\n") + 4 :]
            self.transport.write(_CANNED * answers)


def _serve_canned(port: int, ready: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(_Canned, HOST, port)
        ready.set()
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def generator_limit(clients: int, seconds: float, processes: int = 1) -> Tally:
    """The generator against a canned-answer server in another process: the most it
    can send with this many clients on this machine."""
    ctx = mp.get_context("fork")
    port = free_port()
    ready = ctx.Event()
    server = ctx.Process(target=_serve_canned, args=(port, ready), daemon=True)
    server.start()
    try:
        if not ready.wait(10):
            raise RuntimeError("the canned server did not start")
        raw = build_request("GET", "/healthz", port)

        async def client(_index: int, session: Session) -> None:
            while True:
                await session.call("canned", raw)

        return run_load(port, client, clients=clients, seconds=seconds, processes=processes)
    finally:
        server.kill()
        server.join()
