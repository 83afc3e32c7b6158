"""Running the API: uvicorn on the database of ``YIRONG_DATABASE_URL`` (SQLite by
default, PostgreSQL by URL), with the outbox's deliverer in a background thread so that
funders' events leave while the server runs."""

from __future__ import annotations

import os
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from importlib import import_module

import uvicorn
from fastapi import FastAPI

from yirong.api.app import create_app
from yirong.api.observability import configure_logging
from yirong.infra.db import Database
from yirong.infra.migrate import upgrade

DELIVER_ENV = "YIRONG_DELIVER_EVENTS"


def app_from_env() -> FastAPI:
    """The application uvicorn's workers build (a factory, so each worker process has
    its own engine and pool)."""
    configure_logging(os.environ.get("YIRONG_LOG_LEVEL", "INFO"))
    db = Database(
        os.environ.get("YIRONG_DATABASE_URL"),
        pool_size=int(os.environ.get("YIRONG_POOL_SIZE", "10")),
    )
    app = create_app(db)
    if os.environ.get(DELIVER_ENV, "1") == "1":
        app.router.lifespan_context = _delivering(db)
    return app


def _delivering(db: Database) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        stop = threading.Event()
        # Imported here: the deliverer is the events capability's, and optional.
        delivery = import_module("yirong.events.delivery")
        worker = threading.Thread(
            target=delivery.run_deliverer, args=(db, stop), name="outbox-deliverer", daemon=True
        )
        worker.start()
        try:
            yield
        finally:
            stop.set()
            worker.join(timeout=5)
            db.dispose()

    return lifespan


def serve(
    url: str | None,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    deliver_events: bool = True,
    log_level: str = "info",
) -> None:
    """Migrate the schema (safe to repeat), then serve until stopped."""
    db = Database(url)
    upgrade(db)
    os.environ["YIRONG_DATABASE_URL"] = db.url.render_as_string(hide_password=False)
    os.environ[DELIVER_ENV] = "1" if deliver_events else "0"
    os.environ["YIRONG_LOG_LEVEL"] = log_level.upper()
    db.dispose()
    uvicorn.run(
        "yirong.api.server:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        access_log=False,  # our own structured line per request replaces it
        proxy_headers=False,
    )
