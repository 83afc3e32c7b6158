"""SQL fragments the set-based benchmark builders share, spelled for each database:
a series of integers, zero-padded codes and dates computed from integers."""

from __future__ import annotations

from datetime import date

from yirong.infra.db import Dialect


def series(dialect: Dialect, n: int, alias: str = "s", column: str = "i") -> str:
    """A relation ``alias(column)`` holding 0..n-1."""
    if dialect is Dialect.POSTGRESQL:
        return f"(SELECT generate_series(0, {n - 1}) AS {column}) {alias}"
    return (
        f"(WITH RECURSIVE r(v) AS (SELECT 0 UNION ALL SELECT v + 1 FROM r "
        f"WHERE v < {n - 1}) SELECT v AS {column} FROM r) {alias}"
    )


def padded(dialect: Dialect, column: str, width: int) -> str:
    if dialect is Dialect.POSTGRESQL:
        return f"lpad(({column})::text, {width}, '0')"
    return f"substr('{'0' * width}' || ({column}), -{width})"


def agent_code(dialect: Dialect, column: str) -> str:
    """The bench agents' codes: H0000000, H0000001, ... for agent index ``column``."""
    return f"'H' || {padded(dialect, column, 7)}"


def as_date(dialect: Dialect, expression: str) -> str:
    return f"({expression})::date" if dialect is Dialect.POSTGRESQL else f"({expression})"


def day_after(dialect: Dialect, base: date, days: str) -> str:
    """The date ``days`` (an integer expression, may be negative) after ``base``."""
    if dialect is Dialect.POSTGRESQL:
        return f"(DATE '{base}' + ({days})::integer)"
    return f"date('{base}', ({days}) || ' days')"
