"""Routes: the funders and their products (public facts, for anyone signed in), and
where a funder's system receives the platform's events."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from yirong.api.fields import Fen
from yirong.api.pages import Cursor, Limit, Page, after_of, page_of
from yirong.api.routing import api_router
from yirong.api.security import DB, Anyone, FunderOrOperator, Operator, own_funder
from yirong.funders.public import (
    MAX_URL_LENGTH,
    EventsEndpoint,
    FunderFacts,
    ProductFacts,
    facts,
    product_facts,
    public_funders,
    public_products,
    set_events_endpoint,
)
from yirong.funders.service import FunderInput, ProductInput, add_product, register_funder

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


class NewFunder(BaseModel):
    """A licensed lender joining the platform; its payment account and memo books open
    with it."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")
    name: str = Field(min_length=1, max_length=200)
    licence: str = Field(min_length=1, max_length=32, description="micro_loan, ...")
    contact: str = Field(min_length=1, max_length=200)
    settlement_bank_account: str = Field(min_length=1, max_length=40)
    settlement_bank_name: str = Field(min_length=1, max_length=100)
    revenue_share: Decimal = Field(ge=0, lt=1, description="The platform's share, e.g. 0.2")
    decision_mode: str = Field(description="scorecard, http or manual")
    scorecard: str | None = Field(None, max_length=20_000, description="JSON, for scorecard")
    endpoint_url: str | None = Field(None, max_length=500, description="For http deciders")
    endpoint_secret: str | None = Field(None, min_length=16, max_length=200)
    share_settlement: Literal["statement", "net"] = Field(
        "statement",
        description="statement: the funder pays the monthly revenue-share statement; "
        "net: the share is kept back from each daily payout",
    )


class NewProduct(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")
    name: str = Field(min_length=1, max_length=200)
    kind: str = Field(description="revolving or term")
    method: str = Field(description="revolving, equal-installment, equal-principal, ...")
    min_rate: Decimal = Field(gt=0, lt=1)
    max_rate: Decimal = Field(gt=0, lt=1)
    min_limit: Fen
    max_limit: Fen
    min_term_days: int = Field(strict=True, ge=1, le=3660)
    max_term_days: int = Field(strict=True, ge=1, le=3660)
    periods: int | None = Field(None, strict=True, ge=1, le=120)
    day_basis: int = Field(360, strict=True)
    penalty_multiplier: Decimal = Field(Decimal("1.5"), ge=1, le=10)
    grace_days: int = Field(0, strict=True, ge=0, le=90)
    allocation_order: str = Field("penalty,interest,principal", max_length=64)
    fee: Decimal = Field(Decimal(0), ge=0, lt=1)
    offer_valid_days: int = Field(14, strict=True, ge=1, le=366)
    line_valid_days: int = Field(365, strict=True, ge=1, le=3 * 366)


@router.post(
    "/funders",
    response_model=FunderFacts,
    status_code=201,
    summary="Register a licensed funder (its payment account and memo books open)",
)
def register(data: NewFunder, _who: Operator, db: DB) -> FunderFacts:
    return facts(register_funder(db, FunderInput(**data.model_dump())))


@router.post(
    "/funders/{code}/products",
    response_model=ProductFacts,
    status_code=201,
    summary="Publish a product (refused above the legal APR cap)",
)
def publish_product(code: str, data: NewProduct, _who: Operator, db: DB) -> ProductFacts:
    return product_facts(add_product(db, code, ProductInput(**data.model_dump())))
