"""Comparing offers side by side (PBoC 〔2021〕 No. 3): for each, the annualised rate with
fees included, compound and simple, and what a sample drawdown would cost."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select

from yirong.agents.service import agent_row
from yirong.books.service import business_date_of
from yirong.credit.tables import Offer
from yirong.errors import YirongError
from yirong.funders.tables import Funder, FunderProduct
from yirong.funders.terms import Terms, apr_of, cost_of, sample_schedule
from yirong.infra.db import Tx, read_only
from yirong.money import ppm_to_rate
from yirong.policy.service import setting

MILLIONTH = Decimal("0.000001")


@dataclass(frozen=True, slots=True)
class OfferView:
    id: int
    funder_code: str
    funder_name: str
    funder_contact: str
    product_code: str
    product_name: str
    method: str
    credit_limit: int  # fen
    annual_rate: Decimal  # the nominal rate
    term_days: int
    apr: Decimal  # compound (复利), fees included: the headline figure
    apr_simple: Decimal  # simple (单利): the sample's cost / received × 365 / its days
    sample_amount: int  # fen
    sample_interest: int
    sample_fee: int
    sample_cost: int  # interest + fee of the sample drawdown
    offered_on: date
    expires_on: date
    status: str


@read_only
def compare_offers(tx: Tx, agent_code: str) -> list[OfferView]:
    """The agent's live offers, cheapest first (by APR, then by sample cost)."""
    agent = agent_row(tx, agent_code)
    today = business_date_of(tx)
    sample = int(setting(tx, "sample_drawdown_fen", today))
    rows = tx.session.execute(
        select(Offer, FunderProduct, Funder)
        .join(FunderProduct, FunderProduct.id == Offer.product_id)
        .join(Funder, Funder.id == Offer.funder_id)
        .where(Offer.agent_id == agent.id, Offer.status == "live", Offer.expires_on >= today)
    ).all()
    views = [view(offer, product, funder, sample) for offer, product, funder in rows]
    return sorted(views, key=lambda v: (v.apr, v.sample_cost, -v.credit_limit, v.id))


@read_only
def offer_view(tx: Tx, offer_id: int) -> OfferView:
    """One offer as its agent was shown it (the terms an application was made on)."""
    found = tx.session.execute(
        select(Offer, FunderProduct, Funder)
        .join(FunderProduct, FunderProduct.id == Offer.product_id)
        .join(Funder, Funder.id == Offer.funder_id)
        .where(Offer.id == offer_id)
    ).one_or_none()
    if found is None:
        raise YirongError("offer_not_found", offer=offer_id)
    sample = int(setting(tx, "sample_drawdown_fen", business_date_of(tx)))
    return view(*found, sample)


def view(offer: Offer, product: FunderProduct, funder: Funder, sample: int) -> OfferView:
    terms = Terms.of(product)
    amount = min(terms.sample_amount(sample), offer.credit_limit)
    rate = ppm_to_rate(offer.annual_rate_ppm)
    schedule = sample_schedule(terms, amount, rate, offer.term_days)
    apr = apr_of(terms, amount, offer.annual_rate_ppm, offer.term_days)
    return OfferView(
        id=offer.id,
        funder_code=funder.code,
        funder_name=funder.name,
        funder_contact=funder.contact,
        product_code=product.code,
        product_name=product.name,
        method=product.method,
        credit_limit=offer.credit_limit,
        annual_rate=rate,
        term_days=offer.term_days,
        apr=apr.compound.quantize(MILLIONTH, ROUND_HALF_UP),
        apr_simple=apr.simple.quantize(MILLIONTH, ROUND_HALF_UP),
        sample_amount=amount,
        sample_interest=schedule.total_interest,
        sample_fee=schedule.fee,
        sample_cost=cost_of(schedule),
        offered_on=offer.offered_on,
        expires_on=offer.expires_on,
        status=offer.status,
    )


def offer_for(tx: Tx, offer_id: int, agent_id: int) -> tuple[Offer, FunderProduct, Funder]:
    """The agent's own offer, still open: specific refusals for every other case."""
    found = tx.session.execute(
        select(Offer, FunderProduct, Funder)
        .join(FunderProduct, FunderProduct.id == Offer.product_id)
        .join(Funder, Funder.id == Offer.funder_id)
        .where(Offer.id == offer_id)
        .with_for_update(of=Offer)
    ).one_or_none()
    if found is None:
        raise YirongError("offer_not_found", offer=offer_id)
    offer, product, funder = found
    if offer.agent_id != agent_id:
        raise YirongError("offer_not_yours", offer=offer_id)
    if offer.status == "live" and offer.expires_on < business_date_of(tx):
        raise YirongError("offer_expired", offer=offer_id, expired_after=str(offer.expires_on))
    if offer.status != "live":
        raise YirongError(
            "offer_expired" if offer.status == "expired" else "offer_not_live",
            offer=offer_id,
            status=offer.status,
        )
    return offer, product, funder
