"""One holder at a time, across the processes that share a database: for the work a
server does in the background (delivering funders' events, pruning old records) that
must run once however many workers serve.

On PostgreSQL the holder keeps a session-level advisory lock on a connection of its
own, so the lock is shared by every process and machine on that database, and it goes
with the holder's session (a killed worker frees it). On SQLite, a file beside the
database is locked with ``flock``, freed likewise when the process ends."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from sqlalchemy import text

from yirong.infra.db import Database, Dialect

log = logging.getLogger("yirong.leader")

RETRY_SECONDS = 5.0  # how often a process that is not the holder asks again


def _lock_id(name: str) -> int:
    """A stable signed 64-bit key for ``pg_advisory_lock`` (the same in every process)."""
    return int.from_bytes(
        hashlib.sha256(f"yirong:{name}".encode()).digest()[:8], "big", signed=True
    )


class Leadership:
    """The right to run ``name``'s background work: :meth:`try_take` it (without
    waiting), :meth:`give_up` it."""

    def __init__(self, db: Database, name: str) -> None:
        self.db = db
        self.name = name
        self._held: Any = None  # the connection (PostgreSQL) or the open file (SQLite)

    @property
    def held(self) -> bool:
        return self._held is not None

    def try_take(self) -> bool:
        if self._held is not None:
            return True
        if self.db.dialect is Dialect.POSTGRESQL:
            conn = self.db.engine.connect()
            try:
                taken = conn.execute(
                    text("SELECT pg_try_advisory_lock(:id)"), {"id": _lock_id(self.name)}
                ).scalar_one()
            except BaseException:
                conn.close()
                raise
            if not taken:
                conn.close()
                return False
            self._held = conn
            return True
        path = self._lock_path()
        if path is None:  # an in-memory database: this process is the only one
            self._held = True
            return True
        handle: IO[bytes] = path.open("ab")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self._held = handle
        return True

    def give_up(self) -> None:
        held, self._held = self._held, None
        if held is None or held is True:
            return
        if self.db.dialect is Dialect.POSTGRESQL:
            with contextlib.suppress(Exception):  # the session's end frees it anyway
                held.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": _lock_id(self.name)})
            held.close()
        else:
            held.close()  # closing the file releases the flock

    def _lock_path(self) -> Path | None:
        database = self.db.url.database
        if not database or database == ":memory:":
            return None
        return Path(os.path.expanduser(database)).with_name(
            f"{Path(database).name}.{self.name}.lock"
        )


def run_once_everywhere(
    db: Database,
    name: str,
    work: Callable[[Database, threading.Event], None],
    stop: threading.Event,
    *,
    retry: float = RETRY_SECONDS,
) -> None:
    """Run ``work(db, stop)`` while this process holds ``name``'s leadership; until
    then, ask again every ``retry`` seconds (the holder may stop or die). Meant for a
    thread of each server process: exactly one of them works at a time."""
    leadership = Leadership(db, name)
    try:
        while not stop.is_set():
            try:
                taken = leadership.try_take()
            except Exception:
                log.exception("could not ask for the lead", extra={"job": name})
                taken = False
            if taken:
                log.info("leading", extra={"job": name, "pid": os.getpid()})
                work(db, stop)
                return
            stop.wait(retry)
    finally:
        leadership.give_up()
