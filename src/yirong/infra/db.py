"""Database access: one engine per process, one transaction per use case.

``Database.run`` is the single place a transaction begins and commits (the unit of
work). It retries the whole use case on serialization failures, deadlocks and a busy
SQLite file, so callers never see those. SQLite runs in WAL mode with
``synchronous=FULL`` by default and takes the write lock up front (``BEGIN
IMMEDIATE``), which is what makes concurrent writers safe there.

Transactions are sent as plain BEGIN/COMMIT by :class:`Tx` rather than left to the
drivers: psycopg's implicit BEGIN costs a round trip of its own, and on two cores a
round trip costs about as much CPU as the transfer it carries (BENCHMARKS.md).
"""

from __future__ import annotations

import functools
import random
import sqlite3
import time
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

import psycopg
import psycopg.errors
from sqlalchemy import Connection, Engine, create_engine, event, make_url
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from yirong.config import settings
from yirong.errors import YirongError

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")

MAX_ATTEMPTS = 12
SQLITE_BUSY_TIMEOUT_MS = 30_000


class Dialect(StrEnum):
    POSTGRESQL = "postgresql"
    SQLITE = "sqlite"


class Retryable(Exception):
    """Raised inside a transaction when the whole use case should simply run again."""


def normalize_url(url: str) -> URL:
    """Accept the URLs people type and pick the drivers Yirong is built on."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        return parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite":
        return parsed.set(drivername="sqlite+pysqlite")
    raise ValueError(
        f"unsupported database {parsed.get_backend_name()!r}: use sqlite or postgresql"
    )


class Database:
    def __init__(
        self,
        url: str | None = None,
        *,
        sqlite_synchronous: str | None = None,
        pool_size: int = 5,
        pg_options: str | None = None,
    ) -> None:
        config = settings()
        self.url = normalize_url(url or config.database_url)
        self.dialect = Dialect(self.url.get_backend_name())
        self._caches: dict[str, Any] = {}
        if self.dialect is Dialect.SQLITE:
            self.engine = _sqlite_engine(self.url, sqlite_synchronous or config.sqlite_synchronous)
        else:
            if pg_options:
                # In the URL itself, so that a child process given the URL reaches
                # the same schema with the same settings.
                self.url = self.url.update_query_dict({"options": pg_options})
            self.engine = _postgres_engine(self.url, pool_size)

    def cache(self, name: str, factory: Callable[[], T]) -> T:
        """A per-process cache for facts that never change once written (account
        metadata, for example), kept per database so tests never share one."""
        if name not in self._caches:
            self._caches[name] = factory()
        result: T = self._caches[name]
        return result

    def run(self, work: Callable[[Tx], R], *, readonly: bool = False) -> R:
        """Run ``work`` in one transaction, committed if it returns, rolled back if it
        raises; retried from the start on a transient conflict."""
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                with self.engine.connect() as conn:
                    tx = Tx(self, conn, readonly=readonly)
                    try:
                        result = work(tx)
                        tx.commit()
                    except BaseException:
                        tx.rollback()
                        raise
                    finally:
                        conn.info.pop("yirong.tx", None)
                    return result
            except Exception as exc:
                if not is_retryable(exc):
                    hook = getattr(exc, "after_rollback", None)
                    if hook is not None:
                        # A refusal that must be remembered (so a retry gets the same
                        # answer) is written on its own, after the use case rolled back.
                        self.run(hook)
                    raise
                if attempt == MAX_ATTEMPTS:
                    raise YirongError("database_busy", attempts=attempt) from exc
                time.sleep(random.uniform(0, min(0.2, 0.002 * 2**attempt)))
        raise AssertionError("unreachable")

    def dispose(self) -> None:
        self.engine.dispose()


class TxState(StrEnum):
    IDLE = "idle"  # nothing sent yet
    OPEN = "open"  # BEGIN sent
    DONE = "done"  # committed by the use case's final statement, or rolled back


class Tx:
    """One unit of work. It sends BEGIN, COMMIT and ROLLBACK itself (the drivers run
    in autocommit mode): on SQLite BEGIN IMMEDIATE at once, which takes the write lock
    up front; on PostgreSQL BEGIN just before the first statement, so that a use case
    whose only statement is its final ledger post needs no BEGIN or COMMIT at all
    (see ``ledger.service.post(..., final=True)``): one round trip instead of three.

    SQLAlchemy (Core and ORM) is used for most work; the ledger's hot statements go
    to the driver connection of the same transaction, ``raw``."""

    def __init__(self, db: Database, conn: Connection, *, readonly: bool = False) -> None:
        self.db = db
        self._conn = conn
        self.dialect = db.dialect
        self.readonly = readonly
        self.state = TxState.IDLE
        self._session: Session | None = None
        self.raw: Any = conn.connection.driver_connection
        conn.info["yirong.tx"] = self
        if self.dialect is Dialect.SQLITE:
            self.begin()

    @property
    def conn(self) -> Connection:
        """The SQLAlchemy connection, inside the transaction."""
        self.begin()
        return self._conn

    @property
    def session(self) -> Session:
        self.begin()
        if self._session is None:
            self._session = Session(bind=self._conn, autoflush=True, expire_on_commit=False)
        return self._session

    @property
    def idle(self) -> bool:
        return self.state is TxState.IDLE

    def begin(self) -> None:
        if self.state is TxState.OPEN:
            return
        if self.state is TxState.DONE:
            raise RuntimeError("the transaction was already committed by a final statement")
        if self.dialect is Dialect.SQLITE:
            self.raw.execute("BEGIN" if self.readonly else "BEGIN IMMEDIATE")
        elif self.readonly:
            # One consistent snapshot for every query of a read (a whole verify, say).
            self.raw.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        else:
            self.raw.execute("BEGIN")
        self.state = TxState.OPEN

    def committed_by_final_statement(self) -> None:
        """The use case's last statement ran as its own transaction (autocommit)."""
        assert self.state is TxState.IDLE and self._session is None
        self.state = TxState.DONE

    def commit(self) -> None:
        if self.state is TxState.OPEN:
            if self._session is not None:
                self._session.flush()
            self.raw.execute("COMMIT")
        self.state = TxState.DONE

    def rollback(self) -> None:
        if self.state is TxState.OPEN:
            try:
                self.raw.execute("ROLLBACK")
            except Exception:
                self._conn.invalidate()
        self.state = TxState.DONE


def transactional(fn: Callable[Concatenate[Tx, P], R]) -> Callable[Concatenate[Database, P], R]:
    """Make a use case (written against a ``Tx``) callable with a ``Database``: one
    transaction boundary, retries included."""

    @functools.wraps(fn)
    def use_case(db: Database, /, *args: P.args, **kwargs: P.kwargs) -> R:
        return db.run(lambda tx: fn(tx, *args, **kwargs))

    return use_case


def read_only(fn: Callable[Concatenate[Tx, P], R]) -> Callable[Concatenate[Database, P], R]:
    """Like :func:`transactional` for queries: a consistent snapshot, no write lock."""

    @functools.wraps(fn)
    def query(db: Database, /, *args: P.args, **kwargs: P.kwargs) -> R:
        return db.run(lambda tx: fn(tx, *args, **kwargs), readonly=True)

    return query


def is_retryable(exc: BaseException) -> bool:
    if isinstance(exc, Retryable):
        return True
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    if isinstance(
        orig,
        psycopg.errors.SerializationFailure
        | psycopg.errors.DeadlockDetected
        | psycopg.errors.LockNotAvailable,
    ):
        return True
    if isinstance(orig, sqlite3.OperationalError):
        text = str(orig)
        return "locked" in text or "busy" in text
    return False


def _postgres_engine(url: URL, pool_size: int) -> Engine:
    engine = create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size * 2,
        isolation_level="AUTOCOMMIT",
        pool_reset_on_return=None,  # Tx always ends what it began
        hide_parameters=True,  # a statement's parameters hold personal data: never log them
    )

    @event.listens_for(engine, "before_cursor_execute")
    def _begin_first(conn: Connection, *_args: object) -> None:
        tx = conn.info.get("yirong.tx")
        if tx is not None:
            tx.begin()

    return engine


def _sqlite_engine(url: URL, synchronous: str) -> Engine:
    if url.database and url.database != ":memory:":
        Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        isolation_level="AUTOCOMMIT",
        pool_reset_on_return=None,
        hide_parameters=True,  # a statement's parameters hold personal data: never log them
        connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
    )

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: sqlite3.Connection, _record: object) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA synchronous={synchronous}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cur.close()

    return engine
