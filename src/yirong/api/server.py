"""Running the API: uvicorn on the database of ``YIRONG_DATABASE_URL`` (SQLite by
default, PostgreSQL by URL), one worker process per core by default, with the outbox's
deliverer in a background thread of one of them so that funders' events leave while
the server runs."""

from __future__ import annotations

import gc
import os
import socket
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import anyio.to_thread
import uvicorn
from fastapi import FastAPI
from sqlalchemy.exc import DBAPIError
from uvicorn.protocols.http.h11_impl import H11Protocol

from yirong.api.app import create_app
from yirong.api.observability import configure_logging
from yirong.api.retention import run_pruner
from yirong.config import settings, unsafe_secret_key
from yirong.errors import YirongError
from yirong.events.delivery import run_deliverer
from yirong.infra.db import Database
from yirong.infra.leader import run_once_everywhere
from yirong.infra.migrate import current_revision, head_revision, upgrade

DELIVER_ENV = "YIRONG_DELIVER_EVENTS"
# Route handlers run in AnyIO's thread pool. Its default of 40 threads only adds GIL
# hand-offs here (the work is CPU and short database round trips): a few threads
# answered more requests a second, with a much shorter tail (BENCHMARKS.md).
THREADS_ENV = "YIRONG_API_THREADS"
DEFAULT_THREADS = 4


class NoDelayH11(H11Protocol):
    """uvicorn's HTTP/1.1 protocol with Nagle's algorithm off. With several workers
    uvicorn hands each one a shared socket whose protocol asyncio does not know, so it
    never sets TCP_NODELAY, and a response sent as head then body waits ~40 ms for the
    client's delayed ACK."""

    def connection_made(self, transport: Any) -> None:
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)


def default_workers() -> int:
    """One worker process per core: a worker is one Python interpreter, which runs on
    one core at a time (the GIL)."""
    return os.cpu_count() or 1


def app_from_env() -> FastAPI:
    """The application uvicorn's workers build (a factory, so each worker process has
    its own engine and pool)."""
    configure_logging(os.environ.get("YIRONG_LOG_LEVEL", "INFO"))
    db = Database(
        os.environ.get("YIRONG_DATABASE_URL"),
        pool_size=int(os.environ.get("YIRONG_POOL_SIZE", "10")),
    )
    app = create_app(db)
    app.router.lifespan_context = _lifespan(
        db,
        threads=int(os.environ.get(THREADS_ENV, str(DEFAULT_THREADS))),
        deliver_events=os.environ.get(DELIVER_ENV, "1") == "1",
    )
    return app


def _lifespan(
    db: Database, *, threads: int, deliver_events: bool
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = threads
        # What the process built to start (routes, models, mappers: a quarter of a
        # million objects) lives as long as it does: set aside, the collector's full
        # passes no longer walk it again and again under load (Python's docs advise
        # this for servers: ``gc.freeze``).
        gc.collect()
        gc.freeze()
        stop = threading.Event()
        # Every worker process starts these; only the one holding each job's lead
        # runs it (infra.leader), and another takes over if that one stops.
        jobs = [("retention", run_pruner)]
        if deliver_events:
            jobs.append(("outbox-deliverer", run_deliverer))
        background = [
            threading.Thread(
                target=run_once_everywhere, args=(db, name, work, stop), name=name, daemon=True
            )
            for name, work in jobs
        ]
        for thread in background:
            thread.start()
        try:
            yield
        finally:
            stop.set()
            for thread in background:
                thread.join(timeout=5)
            db.dispose()

    return lifespan


def serve(
    url: str | None,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int | None = None,
    deliver_events: bool = True,
    log_level: str = "info",
) -> None:
    """Migrate the schema (safe to repeat), then serve until stopped. Refused
    (``secret_key_unsafe``) while the secret key is the built-in one or short: funders'
    pseudonymous tokens would be reversible by anyone with the source."""
    why = unsafe_secret_key(settings().secret_key)
    if why is not None:
        raise YirongError("secret_key_unsafe", reason=why)
    db = Database(url)
    if current_revision(db) != head_revision(db):
        try:
            upgrade(db)
        except DBAPIError as exc:  # the service role may not change the schema
            raise YirongError("schema_out_of_date") from exc
    os.environ["YIRONG_DATABASE_URL"] = db.url.render_as_string(hide_password=False)
    os.environ[DELIVER_ENV] = "1" if deliver_events else "0"
    os.environ["YIRONG_LOG_LEVEL"] = log_level.upper()
    db.dispose()
    uvicorn.run(
        "yirong.api.server:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers or default_workers(),
        log_level=log_level,
        access_log=False,  # our own structured line per request replaces it
        proxy_headers=False,
        http=NoDelayH11,
    )
