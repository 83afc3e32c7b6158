"""Writing many rows' new values in one statement.

psycopg pipelines an ``executemany`` well, but each row is still a statement for the
server to parse, plan and run; a chunk of a bank statement updates thousands of rows.
On PostgreSQL the rows travel as one JSON parameter to one ``UPDATE ... FROM
json_array_elements``; SQLite, in process, and a few rows on PostgreSQL (``FEW_ROWS``)
take the ``executemany`` of one statement per row. And reading many rows as plain tuples
(``stream_rows``)."""

from __future__ import annotations

import functools
import itertools
import json
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Table, TextClause, Update, bindparam, text, update
from sqlalchemy.dialects import postgresql

from yirong.infra.db import Dialect, Tx

# Up to this many rows are updated one statement each (pipelined by psycopg's
# ``executemany``: still one round trip). The planner guesses that a JSON array holds
# 100 rows and, for a table of some thousands, would hash them against a scan of every
# row; a row's own statement goes through the key's index.
FEW_ROWS = 16


def update_rows(tx: Tx, table: Table, key: str, rows: Sequence[dict[str, Any]]) -> None:
    """Set each row's columns (every dict holds ``key`` and the same other columns)."""
    if not rows:
        return
    columns = tuple(c for c in rows[0] if c != key)
    if tx.dialect is Dialect.POSTGRESQL and len(rows) > FEW_ROWS:
        tx.conn.execute(_pg_update(table, key, columns), {"rows": json.dumps(rows, default=str)})
        return
    tx.conn.execute(
        _row_update(table, key, columns),
        [{f"_{c}": v for c, v in row.items()} for row in rows],
    )


# The statements are built once for each table, key and columns: a bank statement's
# lines and loans are updated on the API's hot path (a day's file is a money request).
@functools.cache
def _pg_update(table: Table, key: str, columns: tuple[str, ...]) -> TextClause:
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    casts = {c: table.c[c].type.compile(dialect=dialect) for c in [key, *columns]}
    sets = ", ".join(f"{c} = (x->>'{c}')::{casts[c]}" for c in columns)
    return text(
        f"UPDATE {table.name} t SET {sets} FROM json_array_elements(CAST(:rows AS json)) x"
        f" WHERE t.{key} = (x->>'{key}')::{casts[key]}"
    )


@functools.cache
def _row_update(table: Table, key: str, columns: tuple[str, ...]) -> Update:
    return (
        update(table)
        .where(table.c[key] == bindparam(f"_{key}"))
        .values({c: bindparam(f"_{c}") for c in columns})
    )


def stream_rows(tx: Tx, sql: str, *, batch: int = 20_000) -> Iterator[tuple[Any, ...]]:
    """The rows of one read, ``batch`` at a time, as the driver's plain tuples: for a
    million rows the ORM's row objects cost more than the query. ``sql`` takes no
    parameters (the caller inlines its integers). On PostgreSQL a server-side cursor,
    so that the rows are not all held at once."""
    if tx.dialect is Dialect.POSTGRESQL:
        with tx.raw.cursor(name=f"stream_{next(_cursors)}") as cur:
            cur.itersize = batch
            cur.execute(sql)
            yield from cur
        return
    cur = tx.raw.cursor()
    try:
        cur.execute(sql)
        while rows := cur.fetchmany(batch):
            yield from rows
    finally:
        cur.close()


_cursors = itertools.count(1)
