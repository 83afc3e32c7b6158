"""A page of a scoped list in SQL: the rows after an id, in id order, narrowed by the
filters that are given (an agent's own, a funder's own, a status)."""

from __future__ import annotations

from typing import Any, TypeVarTuple

from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.elements import ColumnElement

Ts = TypeVarTuple("Ts")
Column = ColumnElement[Any] | InstrumentedAttribute[Any]


def page_after(
    query: Select[*Ts],
    id_column: Column,
    after: int,
    limit: int,
    *filters: tuple[Column, object | None],
) -> Select[*Ts]:
    """``filters`` are (column, value) pairs; a value of None means "not narrowed"."""
    query = query.where(id_column > after)
    for column, value in filters:
        if value is not None:
            query = query.where(column == value)
    return query.order_by(id_column).limit(limit)
