"""Pagination for every list: ``?limit=`` (1-200, default 50) and ``?cursor=`` from the
previous page's ``next_cursor`` (absent on the last page). Cursors are opaque to
clients; inside, they are the last item's id (so a page never shifts under inserts),
passed through a keyed permutation so that they do not count the records either."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel

from yirong.infra.opaque import conceal, reveal

T = TypeVar("T")

MAX_LIMIT = 200

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="How many items at most (1-200).")]
Cursor = Annotated[
    str | None,
    Query(
        pattern=r"^[0-9]{18}$",
        description="The next_cursor of the previous page; omit for the first page.",
    ),
]


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def cursor_of(last_id: int) -> str:
    return f"{conceal(last_id, 18, 'cursor'):018d}"


def after_of(cursor: str | None) -> int:
    return reveal(int(cursor), 18, "cursor") if cursor else 0


def page_of(fetched: Sequence[T], limit: int, id_of: Callable[[T], int]) -> Page[T]:
    """``fetched`` holds up to limit + 1 items in id order; the extra one only says
    that another page exists."""
    items = list(fetched[:limit])
    more = len(fetched) > limit
    return Page[T](items=items, next_cursor=cursor_of(id_of(items[-1])) if more and items else None)


def page_in_memory(
    everything: Sequence[T], cursor: str | None, limit: int, id_of: Callable[[T], int]
) -> Page[T]:
    """For short lists a service returns whole (an agent's consents, its offers)."""
    after = after_of(cursor)
    rest = sorted((x for x in everything if id_of(x) > after), key=id_of)
    return page_of(rest[: limit + 1], limit, id_of)
