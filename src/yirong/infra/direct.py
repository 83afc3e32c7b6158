"""Hot Core statements sent straight to psycopg: built by SQLAlchemy, compiled once,
and from then on not run through its execution layer.

On two cores that layer (an execution context, the compiled cache's key, the
parameters' and the result's processing) cost about as much CPU as psycopg's own round
trip: the wallet's one-row statement took 220-270 µs through it and 140-150 µs sent
direct (BENCHMARKS.md), and a cycle of the API bench sends fifty-odd statements. The
ledger's hot statements already go to the driver as SQL of their own; these are the
rest of the hot path's, kept as SQLAlchemy builds them.

Only what SQLAlchemy would send unchanged goes direct: a statement whose parameters or
result columns a type converts (JSON, an Enum type, a TypeDecorator...), or whose
parameters are given at run time as a list to expand, runs through SQLAlchemy as
before, as does every statement on SQLite. The SQL text is SQLAlchemy's own (its
constant lists expanded and its literals rendered as it renders them), so the
database, and psycopg's prepared statements, see what they saw before. A database
error is raised as SQLAlchemy raises it (``IntegrityError``...), parameters hidden."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.pq import ExecStatus
from psycopg.rows import namedtuple_row
from sqlalchemy.exc import DBAPIError, MultipleResultsFound, NoResultFound
from sqlalchemy.sql.compiler import SQLCompiler

from yirong.infra.db import Dialect, Tx


@dataclass(frozen=True, slots=True)
class _Form:
    statement: Any  # held, so that the id it is kept under is never another's
    sql: str | None  # None: SQLAlchemy runs it (something converts its values)
    defaults: dict[str, Any]  # the statement's own values (its constants)


_TUPLES_OK = ExecStatus.TUPLES_OK
_forms: dict[tuple[int, tuple[str, ...]], _Form] = {}
# Statements meant for this are built once; should some caller build one per call, the
# kept forms are let go rather than left to grow.
_MOST_FORMS = 1024
_forms_lock = threading.Lock()


def send(tx: Tx, statement: Any, parameters: Mapping[str, Any] | None = None) -> Rows | Any:
    """``tx.conn.execute(statement, parameters)``, direct to the driver where it may
    go. What it answers is read as SQLAlchemy's result is (``one()``, ``first()``,
    ``scalar()``, rows by position and by name)."""
    given = parameters if parameters is not None else {}
    form = _form(tx, statement, given) if tx.dialect is Dialect.POSTGRESQL else None
    if form is None or form.sql is None:
        return tx.conn.execute(statement, given)
    tx.before_sending()
    values = {**form.defaults, **given} if form.defaults else given
    try:
        with tx.raw.cursor(row_factory=namedtuple_row) as cursor:
            cursor.execute(form.sql, values)
            # Whether rows came, asked of the result: ``description`` builds its
            # columns anew on every call.
            result = cursor.pgresult
            rows = cursor.fetchall() if result and result.status == _TUPLES_OK else []
            return Rows(rows, cursor.rowcount)
    except psycopg.Error as exc:
        raise DBAPIError.instance(
            form.sql, values, exc, psycopg.Error, hide_parameters=True
        ) from exc


def is_direct(tx: Tx, statement: Any, parameters: Mapping[str, Any] | None = None) -> bool:
    """Whether :func:`send` sends ``statement`` straight to the driver."""
    if tx.dialect is not Dialect.POSTGRESQL:
        return False
    return _form(tx, statement, parameters or {}).sql is not None


def _form(tx: Tx, statement: Any, given: Mapping[str, Any]) -> _Form:
    # An INSERT or UPDATE is compiled for the columns it is given, as SQLAlchemy does.
    key = (id(statement), tuple(given) if getattr(statement, "is_dml", False) else ())
    found = _forms.get(key)
    if found is not None and found.statement is statement:
        return found
    with _forms_lock:
        made = _Form(statement, *_compiled(tx, statement, key[1]))
        if len(_forms) >= _MOST_FORMS:
            _forms.clear()
        _forms[key] = made
    return made


def _compiled(
    tx: Tx, statement: Any, columns: tuple[str, ...]
) -> tuple[str | None, dict[str, Any]]:
    dialect = tx.db.engine.dialect
    compiled = statement.compile(dialect=dialect, column_keys=list(columns) or None)
    assert isinstance(compiled, SQLCompiler)
    if compiled.insert_prefetch or compiled.update_prefetch:
        return None, {}  # a column's default is computed in Python, by SQLAlchemy
    if not _values_pass_unchanged(statement, compiled):
        return None, {}
    sql: str = compiled.string
    defaults: dict[str, Any] = {}
    for bind in compiled.binds.values():
        name = compiled.bind_names[bind]
        placeholder = f"__[POSTCOMPILE_{name}]"
        if bind in compiled.literal_execute_params:
            literal = compiled.render_literal_value(bind.effective_value, bind.type)
            sql = sql.replace(placeholder, literal)
        elif bind in compiled.post_compile_params:
            if bind.required or bind.callable is not None:
                return None, {}  # a list given at run time: SQLAlchemy expands it
            values = list(bind.effective_value or ())
            names = [f"{name}_{n}" for n in range(1, len(values) + 1)]
            sql = sql.replace(placeholder, ", ".join(f"%({n})s" for n in names))
            defaults.update(zip(names, values, strict=True))
        elif not bind.required:
            defaults[name] = bind.effective_value
    return sql, defaults


def _values_pass_unchanged(statement: Any, compiled: SQLCompiler) -> bool:
    """Whether SQLAlchemy hands every parameter and result value to psycopg (and back)
    as it is: no bind or result processor for the dialect."""
    dialect = compiled.dialect
    for bind in compiled.binds.values():
        if bind.type.dialect_impl(dialect).bind_processor(dialect) is not None:
            return False
        if bind.callable is not None:
            return False
    columns = getattr(statement, "exported_columns", ())
    return all(
        column.type.dialect_impl(dialect).result_processor(dialect, None) is None
        for column in columns
    )


class Rows:
    """What a direct statement answered, read as SQLAlchemy's ``Result`` is."""

    __slots__ = ("_rows", "rowcount")

    def __init__(self, rows: Sequence[Any], rowcount: int) -> None:
        self._rows = rows
        self.rowcount = rowcount

    def __iter__(self) -> Iterator[Any]:
        return iter(self._rows)

    def all(self) -> list[Any]:
        return list(self._rows)

    def first(self) -> Any | None:
        return self._rows[0] if self._rows else None

    def one_or_none(self) -> Any | None:
        if len(self._rows) > 1:
            raise MultipleResultsFound("Multiple rows were found when one or none was required")
        return self.first()

    def one(self) -> Any:
        if not self._rows:
            raise NoResultFound("No row was found when one was required")
        return self.one_or_none()

    def scalars(self) -> list[Any]:
        return [row[0] for row in self._rows]

    def scalar(self) -> Any | None:
        row = self.first()
        return None if row is None else row[0]

    def scalar_one(self) -> Any:
        return self.one()[0]

    def scalar_one_or_none(self) -> Any | None:
        row = self.one_or_none()
        return None if row is None else row[0]
