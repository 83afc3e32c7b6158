"""What a funder may see of agents, and only under a consent, every look logged:
before an application, the pseudonymous features of agents who opted in to
pre-approval (a token that means nothing outside that funder); after one, the
applicant's identified data while its consent to that funder stands."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import false, func, or_, select

from yirong.agents.service import AgentView
from yirong.agents.tables import Agent
from yirong.books.service import business_date_of
from yirong.credit.applications import applicant_data_in, engaged_in
from yirong.credit.consents import PREAPPROVAL_FIELDS, Purpose, record_shares
from yirong.credit.tables import Consent, CreditApplication, Offer
from yirong.credit.tokens import funder_token
from yirong.errors import YirongError
from yirong.features.service import FEATURE_NAMES, Features
from yirong.features.tables import AgentFeatures
from yirong.funders.service import funder_row, products_of
from yirong.funders.tables import Funder
from yirong.funders.terms import family_of
from yirong.infra.db import Tx, transactional
from yirong.money import ppm_to_rate


@dataclass(frozen=True, slots=True)
class OffersMade:
    """What this funder offers the candidate today (its live offers, summed up)."""

    count: int
    largest_limit: int  # fen
    lowest_rate: Decimal


@dataclass(frozen=True, slots=True)
class Candidate:
    """An agent as a funder sees it before any application: its token for this
    funder, its latest features and the funder's own live offers to it, nothing that
    names it."""

    token: str
    features_as_of: date
    features: Features
    offers: OffersMade | None = None


@transactional
def candidates(
    tx: Tx, funder_code: str, *, after: int = 0, limit: int = 50
) -> tuple[list[tuple[int, Candidate]], bool]:
    """Agents who opted in to pre-approval (a valid consent), have features and are
    free in a product family the funder lends in (not engaged with a funder in it),
    each with its cursor; and whether more follow. What is shown is logged as shared
    under each agent's consent."""
    funder = funder_row(tx, funder_code)
    today = business_date_of(tx)
    as_of = tx.session.scalar(
        select(func.max(AgentFeatures.as_of)).where(AgentFeatures.as_of <= today)
    )
    if as_of is None:
        return [], False
    consents = (
        select(Consent.agent_id, func.min(Consent.id).label("consent_id"))
        .where(
            Consent.purpose == Purpose.PREAPPROVAL.value,
            Consent.withdrawn_on.is_(None),
            Consent.given_on <= today,
            Consent.valid_until >= today,
        )
        .group_by(Consent.agent_id)
        .subquery()
    )
    families = sorted({family_of(p.kind) for p in products_of(tx, funder)})
    free = or_(false(), *(~engaged_in(Agent.id, family) for family in families))
    made = (
        select(
            Offer.agent_id,
            func.count().label("count"),
            func.max(Offer.credit_limit).label("largest"),
            func.min(Offer.annual_rate_ppm).label("lowest"),
        )
        .where(Offer.funder_id == funder.id, Offer.status == "live", Offer.expires_on >= today)
        .group_by(Offer.agent_id)
        .subquery()
    )
    rows = tx.session.execute(
        select(
            Agent.id,
            Agent.code,
            consents.c.consent_id,
            made.c.count,
            made.c.largest,
            made.c.lowest,
            *(getattr(AgentFeatures, name) for name in FEATURE_NAMES),
        )
        .join(consents, consents.c.agent_id == Agent.id)
        .outerjoin(made, made.c.agent_id == Agent.id)
        .join(AgentFeatures, (AgentFeatures.agent_id == Agent.id) & (AgentFeatures.as_of == as_of))
        .where(free, consents.c.consent_id > after)
        .order_by(consents.c.consent_id)
        .limit(limit + 1)
    ).all()
    shown = rows[:limit]
    record_shares(
        tx,
        [
            {
                "consent_id": consent_id,
                "agent_id": agent_id,
                "funder_id": funder.id,
                "fields": ",".join(PREAPPROVAL_FIELDS),
                "identified": False,
                "reference": "api:candidates",
                "shared_on": today,
            }
            for agent_id, _, consent_id, *_ in shown
        ],
    )
    return [
        (
            consent_id,
            Candidate(
                funder_token(funder.code, code),
                as_of,
                Features(*values),
                None if count is None else OffersMade(count, largest, ppm_to_rate(lowest)),
            ),
        )
        for _, code, consent_id, count, largest, lowest, *values in shown
    ], len(rows) > limit


@transactional
def agent_for_funder(tx: Tx, agent_code: str, *, funder_code: str) -> AgentView:
    """The agent's identified data, for a funder it applied to while that consent
    stands (the look is logged under it); any other funder is refused, without
    saying whether the agent exists."""
    funder = tx.session.scalars(select(Funder).where(Funder.code == funder_code)).one_or_none()
    agent = tx.session.scalars(select(Agent).where(Agent.code == agent_code)).one_or_none()
    if funder is None or agent is None:
        raise YirongError("access_denied")
    today = business_date_of(tx)
    application_id = tx.session.scalar(
        select(CreditApplication.id)
        .join(Consent, Consent.id == CreditApplication.consent_id)
        .where(
            CreditApplication.agent_id == agent.id,
            CreditApplication.funder_id == funder.id,
            Consent.withdrawn_on.is_(None),
            Consent.given_on <= today,
            Consent.valid_until >= today,
        )
        .order_by(CreditApplication.id.desc())
        .limit(1)
    )
    if application_id is None:
        raise YirongError("access_denied")
    return applicant_data_in(tx, application_id, funder_code=funder.code)
