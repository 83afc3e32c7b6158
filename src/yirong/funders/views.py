"""Routes: the funders and their products (public facts, for anyone signed in), and
where a funder's system receives the platform's events."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field

from yirong.api.pages import Cursor, Limit, Page, after_of, page_of
from yirong.api.routing import api_router
from yirong.api.security import DB, Anyone, FunderOrOperator, own_funder
from yirong.funders.public import (
    MAX_URL_LENGTH,
    EventsEndpoint,
    FunderFacts,
    ProductFacts,
    public_funders,
    public_products,
    set_events_endpoint,
)

router = api_router("funders")
T = TypeVar("T")


class EventsUrl(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(
        min_length=1,
        max_length=MAX_URL_LENGTH,
        description="An http(s) URL the platform POSTs the funder's events to",
    )


def page_of_pairs(found: Sequence[tuple[int, T]], limit: int) -> Page[T]:
    """A page of (cursor id, item) pairs, the ids kept out of the items."""
    page = page_of(found, limit, lambda pair: pair[0])
    return Page[T](items=[item for _, item in page.items], next_cursor=page.next_cursor)


@router.get(
    "/funders",
    response_model=Page[FunderFacts],
    summary="The funders on the platform: who they are and how to reach them",
)
def funders(_who: Anyone, db: DB, limit: Limit = 50, cursor: Cursor = None) -> Page[FunderFacts]:
    return page_of_pairs(public_funders(db, after=after_of(cursor), limit=limit + 1), limit)


@router.get(
    "/funders/{code}/products",
    response_model=Page[ProductFacts],
    summary="A funder's active products and their terms (with the worst-case APR)",
)
def products(
    code: str, _who: Anyone, db: DB, limit: Limit = 50, cursor: Cursor = None
) -> Page[ProductFacts]:
    return page_of_pairs(public_products(db, code, after=after_of(cursor), limit=limit + 1), limit)


@router.put(
    "/funders/{code}/events-endpoint",
    response_model=EventsEndpoint,
    summary="Where to push the funder's events; returns a new signing secret, shown once",
)
def events_endpoint(code: str, data: EventsUrl, who: FunderOrOperator, db: DB) -> EventsEndpoint:
    own_funder(who, code)
    return set_events_endpoint(db, code, data.url)
