"""Reading applications and credit lines a page at a time, narrowed to one agent or
one funder (or neither, for operators); and the consent text agents are shown."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, select

from yirong.agents.tables import Agent
from yirong.books.service import business_date_of
from yirong.credit.applications import ApplicationView, LineView, engaged_in, family_sql
from yirong.credit.consents import APPLICATION_FIELDS, PREAPPROVAL_FIELDS
from yirong.credit.tables import CREDIT_LINE, CreditApplication, CreditLine, Offer
from yirong.errors import YirongError
from yirong.funders.tables import Funder, FunderProduct
from yirong.infra.db import Tx, read_only
from yirong.infra.paging import page_after
from yirong.money import ppm_to_rate
from yirong.policy.service import setting


@dataclass(frozen=True, slots=True)
class ConsentText:
    """What an agent consents to: the current text's version and the data each
    consent covers."""

    text_version: str
    application_fields: tuple[str, ...]
    preapproval_fields: tuple[str, ...]


@read_only
def agents_to_apply(tx: Tx, limit: int = 1) -> list[str]:
    """Agents with an open offer and no application in progress or line in its
    product's family: those who could apply today (the demo prints one, for a
    newcomer to walk that story)."""
    return list(
        tx.session.scalars(
            select(Agent.code)
            .join(Offer, Offer.agent_id == Agent.id)
            .join(FunderProduct, FunderProduct.id == Offer.product_id)
            .where(Offer.status == "live", Offer.expires_on >= business_date_of(tx))
            .where(~engaged_in(Agent.id, family_sql(FunderProduct.kind)))
            .group_by(Agent.code)
            .order_by(Agent.code)
            .limit(limit)
        )
    )


@read_only
def consent_text(tx: Tx) -> ConsentText:
    return ConsentText(
        str(setting(tx, "consent_text_version")), APPLICATION_FIELDS, PREAPPROVAL_FIELDS
    )


def _applications() -> Select[CreditApplication, str, str]:
    return (
        select(CreditApplication, Agent.code, Funder.code)
        .join(Agent, Agent.id == CreditApplication.agent_id)
        .join(Funder, Funder.id == CreditApplication.funder_id)
    )


def _application_view(a: CreditApplication, agent_code: str, funder_code: str) -> ApplicationView:
    return ApplicationView(
        a.id,
        agent_code,
        funder_code,
        a.offer_id,
        a.consent_id,
        a.status,
        a.submitted_on,
        a.decided_on,
        a.reason_code,
        None if a.line_id is None else CREDIT_LINE.of(a.line_id),
    )


@read_only
def list_applications(
    tx: Tx,
    *,
    agent_code: str | None = None,
    funder_code: str | None = None,
    status: str | None = None,
    after: int = 0,
    limit: int = 50,
) -> list[ApplicationView]:
    """Applications after id ``after``, oldest first, of one agent or funder if given."""
    query = page_after(
        _applications(),
        CreditApplication.id,
        after,
        limit,
        (Agent.code, agent_code),
        (Funder.code, funder_code),
        (CreditApplication.status, status),
    )
    rows = tx.session.execute(query).all()
    return [_application_view(a, agent, funder) for a, agent, funder in rows]


@read_only
def latest_applications(tx: Tx, agent_code: str, *, limit: int = 10) -> list[ApplicationView]:
    """The agent's latest applications, newest first."""
    rows = tx.session.execute(
        _applications()
        .where(Agent.code == agent_code)
        .order_by(CreditApplication.id.desc())
        .limit(limit)
    ).all()
    return [_application_view(a, agent, funder) for a, agent, funder in rows]


@read_only
def get_application(tx: Tx, application_id: int) -> ApplicationView:
    row = tx.session.execute(
        _applications().where(CreditApplication.id == application_id)
    ).one_or_none()
    if row is None:
        raise YirongError("application_not_found", application=application_id)
    found, agent, funder = row
    return _application_view(found, agent, funder)


def _lines() -> Select[CreditLine, str, str, str]:
    return (
        select(CreditLine, Agent.code, Funder.code, FunderProduct.code)
        .join(Agent, Agent.id == CreditLine.agent_id)
        .join(Funder, Funder.id == CreditLine.funder_id)
        .join(FunderProduct, FunderProduct.id == CreditLine.product_id)
    )


def _line_view(line: CreditLine, agent_code: str, funder_code: str, product: str) -> LineView:
    return LineView(
        CREDIT_LINE.of(line.id),
        agent_code,
        funder_code,
        product,
        line.credit_limit,
        ppm_to_rate(line.annual_rate_ppm),
        line.max_term_days,
        line.opened_on,
        line.valid_until,
        line.status,
    )


@read_only
def list_lines(
    tx: Tx,
    *,
    agent_code: str | None = None,
    funder_code: str | None = None,
    status: str | None = None,
    after: int = 0,
    limit: int = 50,
) -> list[LineView]:
    """Credit lines after id ``after``, oldest first, of one agent or funder if given."""
    query = page_after(
        _lines(),
        CreditLine.id,
        after,
        limit,
        (Agent.code, agent_code),
        (Funder.code, funder_code),
        (CreditLine.status, status),
    )
    rows = tx.session.execute(query).all()
    return [_line_view(line, agent, funder, product) for line, agent, funder, product in rows]


@read_only
def get_line(tx: Tx, reference: str) -> LineView:
    """One line by its public reference (``cl_`` and 14 digits)."""
    number = CREDIT_LINE.number_of(reference)
    row = tx.session.execute(_lines().where(CreditLine.id == number)).one_or_none()
    if row is None:
        raise YirongError("line_not_found", line=reference)
    line, agent, funder, product = row
    return _line_view(line, agent, funder, product)
