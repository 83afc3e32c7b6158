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
from contextvars import ContextVar
from enum import StrEnum
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar, cast

import psycopg
import psycopg.errors
from sqlalchemy import Connection, Engine, create_engine, event, make_url
from sqlalchemy.dialects import postgresql as postgresql_dml
from sqlalchemy.dialects import sqlite as sqlite_dml
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


class NeedsSnapshot(Exception):
    """A read that was to run alone sent a second statement."""


def _counted(name: str) -> Callable[..., Any]:
    """A method of ``_OneStatement`` that sends: the statement counted, then sent."""

    def send(self: _OneStatement, *args: Any, **kwargs: Any) -> Any:
        self._tx.sending()
        return getattr(self._conn, name)(*args, **kwargs)

    return send


class _OneStatement:
    """The connection of work that runs alone: each statement is counted as it goes
    out (``Tx.sending``). Only this work pays for the counting: an engine event would
    have made every statement of every transaction go through SQLAlchemy's event
    dispatch, about a twentieth of a money request's time."""

    __slots__ = ("_conn", "_tx")

    def __init__(self, tx: Tx, conn: Connection) -> None:
        self._tx = tx
        self._conn = conn

    execute = _counted("execute")
    scalar = _counted("scalar")
    scalars = _counted("scalars")
    exec_driver_sql = _counted("exec_driver_sql")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)  # what sends nothing: its dialect, say


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

    def run(self, work: Callable[[Tx], R], *, readonly: bool = False, alone: bool = False) -> R:
        """Run ``work`` in one transaction, committed if it returns, rolled back if it
        raises; retried from the start on a transient conflict.

        A request's :class:`FirstWrite` runs first in the first that may write.
        ``alone``: work done by one
        statement, which is its own transaction (and snapshot), so it needs no BEGIN
        and no COMMIT; should it send a second, it is run again in a transaction, so
        the claim cannot quietly go stale (a cache filled on the way, say)."""
        first = _first_write.get()
        if first is not None and not first.claims(self, readonly or alone):
            first = None
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                with self.engine.connect() as conn:
                    tx = Tx(self, conn, readonly=readonly, alone=alone)
                    try:
                        if first is not None:
                            first.running = True
                            first.step(tx)
                        result = work(tx)
                        tx.commit()
                    except BaseException:
                        tx.rollback()
                        raise
                    finally:
                        if first is not None:
                            first.running = False
                    if first is not None:
                        first.done = True
                    return result
            except NeedsSnapshot:
                token = _first_write.set(None)  # it was not one before either
                try:
                    return self.run(work, readonly=readonly)
                finally:
                    _first_write.reset(token)
            except Exception as exc:
                if not is_retryable(exc):
                    hook = getattr(exc, "after_rollback", None)
                    if hook is not None:
                        # A refusal that must be remembered (so a retry gets the same
                        # answer) is written on its own, after the use case rolled back
                        # (and without the request's first write: it is not one).
                        token = _first_write.set(None)
                        try:
                            self.run(hook)
                        finally:
                            _first_write.reset(token)
                    raise
                if attempt == MAX_ATTEMPTS:
                    raise YirongError("database_busy", attempts=attempt) from exc
                time.sleep(random.uniform(0, min(0.2, 0.002 * 2**attempt)))
        raise AssertionError("unreachable")

    def dispose(self) -> None:
        self.engine.dispose()


_first_write: ContextVar[FirstWrite | None] = ContextVar("yirong_first_write", default=None)


class FirstWrite:
    """A step that must commit with whatever a request writes first, and not on its
    own: the Idempotency-Key's record (api.idempotency), which so costs no transaction
    of its own. The first ``Database.run`` that may write, in the request's context,
    runs it at its start; if that transaction rolls back, the next one that writes
    runs it again. A read, or a transaction begun inside that one, does not."""

    def __init__(self, db: Database, step: Callable[[Tx], object]) -> None:
        self.db = db
        self.step = step
        self.running = False
        self.done = False  # committed with the request's first write

    def claims(self, db: Database, readonly: bool) -> bool:
        return db is self.db and not (readonly or self.running or self.done)

    def entered(self) -> Callable[[], None]:
        """In force from here on (the context is copied into the request's threads);
        returns the call that ends it."""
        token = _first_write.set(self)
        return lambda: _first_write.reset(token)


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

    def __init__(
        self, db: Database, conn: Connection, *, readonly: bool = False, alone: bool = False
    ) -> None:
        self.db = db
        self._conn = conn
        self.dialect = db.dialect
        self.readonly = readonly
        self.alone = alone
        self.state = TxState.IDLE
        self.memo: dict[str, Any] = {}  # facts read once per transaction (the business date)
        self._sent_one = False
        self._session: Session | None = None
        self.raw: Any = conn.connection.driver_connection
        # Alone, every statement is counted on its way out (``sending``); in a
        # transaction, asking for the connection is what begins it.
        self._alone_conn = cast(Connection, _OneStatement(self, conn)) if alone else None
        if self.dialect is Dialect.SQLITE and not alone:
            self.begin()

    @property
    def conn(self) -> Connection:
        """The SQLAlchemy connection, inside the transaction."""
        if self._alone_conn is not None:
            return self._alone_conn
        self.begin()
        return self._conn

    @property
    def session(self) -> Session:
        if self.alone:
            # The ORM sends what it likes (a flush, a load): work that needs it is
            # not one statement, so it runs in a transaction of its own.
            raise NeedsSnapshot
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
        if self.alone:
            return  # autocommit: each statement is its own snapshot (see ``sending``)
        if self.dialect is Dialect.SQLITE:
            self.raw.execute("BEGIN" if self.readonly else "BEGIN IMMEDIATE")
        elif self.readonly:
            # One consistent snapshot for every query of a read (a whole verify, say).
            self.raw.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        else:
            self.raw.execute("BEGIN")
        self.state = TxState.OPEN

    def before_sending(self) -> None:
        """For a statement that does not go through ``conn`` (``infra.direct``): the
        transaction begun, or, for work that runs alone, the statement counted."""
        if self.alone:
            self.sending()
        else:
            self.begin()

    def sending(self) -> None:
        """Called before each statement of a read that runs alone goes out."""
        if self._sent_one:
            # A second statement would read another snapshot than the first: the read
            # runs again in a transaction (a cache filled on the way, say).
            raise NeedsSnapshot
        else:
            self._sent_one = True

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


def read_alone(fn: Callable[Concatenate[Tx, P], R]) -> Callable[Concatenate[Database, P], R]:
    """Like :func:`read_only` for a query that one statement answers: that statement is
    its own snapshot, so no BEGIN and no COMMIT go with it (one round trip, not three)."""

    @functools.wraps(fn)
    def query(db: Database, /, *args: P.args, **kwargs: P.kwargs) -> R:
        return db.run(lambda tx: fn(tx, *args, **kwargs), readonly=True, alone=True)

    return query


def insert_new(tx: Tx, table: Any) -> Any:
    """An INSERT of ``table`` in the database's own dialect, for ``.on_conflict_do_nothing()``
    with ``.returning(...)``: one statement that takes a key or says it was taken."""
    module = sqlite_dml if tx.dialect is Dialect.SQLITE else postgresql_dml
    return module.insert(table)


def per_dialect(build: Callable[[Tx], T]) -> Callable[[Tx], T]:
    """A statement that depends on the database's dialect (``insert_new``'s), built
    the first time each dialect asks for it: for statements on a hot path."""
    built: dict[Dialect, T] = {}

    def statement(tx: Tx) -> T:
        found = built.get(tx.dialect)
        if found is None:
            found = built[tx.dialect] = build(tx)
        return found

    return statement


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
