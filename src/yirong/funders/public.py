"""What anyone may know of a funder (who it is, what it offers), and where a funder's
system receives the platform's events."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from urllib.parse import urlparse

from sqlalchemy import select

from yirong.errors import YirongError
from yirong.funders import scorecard
from yirong.funders.scorecard import Scorecard
from yirong.funders.service import funder_row
from yirong.funders.tables import Funder, FunderProduct
from yirong.funders.terms import worst_apr
from yirong.infra.db import Tx, read_only, transactional
from yirong.infra.outbound import loopback_allowed, url_problem
from yirong.money import ppm_to_rate

MILLIONTH = Decimal("0.000001")
MAX_URL_LENGTH = 500  # funders.events_url


@dataclass(frozen=True, slots=True)
class FunderFacts:
    """A funder's public facts: no settlement account, scorecard or secret."""

    code: str
    name: str
    licence: str
    contact: str
    opened_on: date


@dataclass(frozen=True, slots=True)
class ProductFacts:
    code: str
    name: str
    kind: str
    method: str
    min_rate: Decimal
    max_rate: Decimal
    worst_apr: Decimal  # the highest APR the product allows (the higher of simple and
    # compound, fees included): the figure the legal cap is checked against
    min_limit: int  # fen
    max_limit: int
    min_term_days: int
    max_term_days: int
    periods: int | None
    day_basis: int
    penalty_multiplier: Decimal
    grace_days: int
    allocation_order: str
    fee: Decimal
    offer_valid_days: int
    line_valid_days: int


@dataclass(frozen=True, slots=True)
class EventsEndpoint:
    """Where the funder's events go, and the secret they are signed with (shown
    once, when it is made)."""

    funder_code: str
    events_url: str
    events_secret: str

    def __repr__(self) -> str:
        return f"EventsEndpoint(funder_code={self.funder_code!r}, events_url={self.events_url!r})"


def facts(funder: Funder) -> FunderFacts:
    return FunderFacts(funder.code, funder.name, funder.licence, funder.contact, funder.opened_on)


@read_only
def public_funders(tx: Tx, *, after: int = 0, limit: int = 50) -> list[tuple[int, FunderFacts]]:
    """Funders registered after the one with id ``after``, each with its id (the
    page cursor)."""
    found = tx.session.scalars(
        select(Funder).where(Funder.id > after).order_by(Funder.id).limit(limit)
    )
    return [(funder.id, facts(funder)) for funder in found]


@read_only
def public_products(
    tx: Tx, funder_code: str, *, after: int = 0, limit: int = 50
) -> list[tuple[int, ProductFacts]]:
    """The funder's active products, each with its id (the page cursor)."""
    funder = funder_row(tx, funder_code)
    found = tx.session.scalars(
        select(FunderProduct)
        .where(
            FunderProduct.funder_id == funder.id,
            FunderProduct.active.is_(True),
            FunderProduct.id > after,
        )
        .order_by(FunderProduct.id)
        .limit(limit)
    )
    return [(product.id, product_facts(product)) for product in found]


def product_facts(p: FunderProduct) -> ProductFacts:
    return ProductFacts(
        code=p.code,
        name=p.name,
        kind=p.kind,
        method=p.method,
        min_rate=ppm_to_rate(p.min_rate_ppm),
        max_rate=ppm_to_rate(p.max_rate_ppm),
        worst_apr=worst_apr(p).higher.quantize(MILLIONTH, ROUND_HALF_UP),
        min_limit=p.min_limit,
        max_limit=p.max_limit,
        min_term_days=p.min_term_days,
        max_term_days=p.max_term_days,
        periods=p.periods,
        day_basis=p.day_basis,
        penalty_multiplier=ppm_to_rate(p.penalty_multiplier_ppm),
        grace_days=p.grace_days,
        allocation_order=p.allocation_order,
        fee=ppm_to_rate(p.fee_ppm),
        offer_valid_days=p.offer_valid_days,
        line_valid_days=p.line_valid_days,
    )


@transactional
def set_events_endpoint(tx: Tx, funder_code: str, url: str) -> EventsEndpoint:
    """Point the funder's events at ``url``, with a new signing secret (the old one
    stops working at once)."""
    try:
        parsed = urlparse(url)
        host, _ = parsed.hostname, parsed.port  # an unparsable port raises too
    except ValueError as exc:
        raise YirongError("events_url_invalid") from exc
    if (
        url_problem(url, loopback_ok=loopback_allowed()) is not None
        or not host
        or len(url) > MAX_URL_LENGTH
        or not url.isascii()
        or any(c.isspace() or not c.isprintable() for c in url)
    ):
        raise YirongError("events_url_invalid")
    funder = funder_row(tx, funder_code)
    funder.events_url = url
    funder.events_secret = secrets.token_urlsafe(32)
    tx.session.flush()
    return EventsEndpoint(funder.code, url, funder.events_secret)


@dataclass(frozen=True, slots=True)
class PreapprovalPolicy:
    """How the funder decides on pre-approval, as it stands: its mode, and for a
    scorecard its card (None for a funder that decides over HTTP or by hand)."""

    decision_mode: str
    scorecard: Scorecard | None


@read_only
def preapproval_policy(tx: Tx, funder_code: str) -> PreapprovalPolicy:
    funder = funder_row(tx, funder_code)
    card = None
    if funder.decision_mode == "scorecard" and funder.scorecard:
        card = scorecard.parse(funder.scorecard)
    return PreapprovalPolicy(funder.decision_mode, card)
