"""The credit marketplace: consents, every sharing of data, pre-approval runs and
their offers, formal applications, credit lines (an order facility is one too, on an
order product), and the one-funder-at-a-time rule, in each product family."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from yirong.infra.base import Base, Id
from yirong.infra.opaque import PublicRef


class Consent(Base):
    """A recorded consent (PIPL Arts. 14, 23): which data, to whom, for what, until
    when, under which version of the text. Withdrawable; never deleted."""

    __tablename__ = "consents"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"), index=True)
    funder_id: Mapped[int | None] = mapped_column(ForeignKey("funders.id"))  # None: every funder
    purpose: Mapped[str] = mapped_column(String(32))  # preapproval | credit_application
    fields: Mapped[str] = mapped_column(String(500))  # comma-separated field names
    text_version: Mapped[str] = mapped_column(String(32))
    given_on: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date)
    withdrawn_on: Mapped[date | None] = mapped_column(Date)
    recorded_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.current_timestamp())


class DataShare(Base):
    """One sharing of an agent's data with a funder, under a consent. Append-only.

    No foreign keys: pre-approval writes a row per agent and funder on every run
    (300,000 a run for 100,000 agents), each from a join on the very consent it
    names, and per-row key checks made that the slowest step (BENCHMARKS.md)."""

    __tablename__ = "data_shares"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    consent_id: Mapped[int] = mapped_column(BigInteger, index=True)
    agent_id: Mapped[int] = mapped_column(BigInteger)
    funder_id: Mapped[int] = mapped_column(BigInteger)
    fields: Mapped[str] = mapped_column(String(500))
    identified: Mapped[bool] = mapped_column()  # False: pseudonymous features only
    reference: Mapped[str] = mapped_column(String(64))  # preapproval:<run> | application:<id>
    shared_on: Mapped[date] = mapped_column(Date)
    recorded_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.current_timestamp())


class PreapprovalRun(Base):
    __tablename__ = "preapproval_runs"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    business_date: Mapped[date] = mapped_column(Date)
    agents: Mapped[int] = mapped_column(Integer, default=0)
    offers_created: Mapped[int] = mapped_column(Integer, default=0)
    offers_expired: Mapped[int] = mapped_column(Integer, default=0)
    report: Mapped[str] = mapped_column(Text, default="{}")  # per funder: counts or its error
    recorded_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.current_timestamp())


class Offer(Base):
    """A funder's pre-approval offer (预授信) to one agent, made from pseudonymous
    features. At most one live offer per agent and product.

    No foreign keys, for the same reason as data shares: offers are written in bulk
    by pre-approval from joins on the agents, funders and products they name."""

    __tablename__ = "offers"
    __table_args__ = (
        Index(
            "uq_offers_live",
            "agent_id",
            "product_id",
            unique=True,
            postgresql_where=text("status = 'live'"),
            sqlite_where=text("status = 'live'"),
        ),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    run_id: Mapped[int | None] = mapped_column(BigInteger)
    agent_id: Mapped[int] = mapped_column(BigInteger)
    funder_id: Mapped[int] = mapped_column(BigInteger)
    product_id: Mapped[int] = mapped_column(BigInteger)
    credit_limit: Mapped[int] = mapped_column(BigInteger)
    annual_rate_ppm: Mapped[int] = mapped_column(Integer)
    term_days: Mapped[int] = mapped_column(Integer)
    apr_ppm: Mapped[int] = mapped_column(Integer)  # compound, IRR method, fees included
    offered_on: Mapped[date] = mapped_column(Date)
    expires_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))  # live | expired | accepted | withdrawn


class CreditApplication(Base):
    """A formal application (正式授信申请) to the funder of the chosen offer."""

    __tablename__ = "credit_applications"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"), index=True)
    funder_id: Mapped[int] = mapped_column(ForeignKey("funders.id"), index=True)
    offer_id: Mapped[int] = mapped_column(ForeignKey("offers.id"))
    consent_id: Mapped[int] = mapped_column(ForeignKey("consents.id"))
    status: Mapped[str] = mapped_column(String(16))  # submitted | approved | rejected | withdrawn
    submitted_on: Mapped[date] = mapped_column(Date)
    decided_on: Mapped[date | None] = mapped_column(Date)
    reason_code: Mapped[str | None] = mapped_column(String(32))
    line_id: Mapped[int | None] = mapped_column(BigInteger)


# A credit line's id on the wire and on screen: cl_ and 14 digits that do not count.
CREDIT_LINE = PublicRef("cl_", "credit_line", "line_not_found")


class CreditLine(Base):
    """A credit line (授信额度) a funder granted: a line (revolving or term), or an
    order facility (订单融资额度) when its product's kind is ``order``."""

    __tablename__ = "credit_lines"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"), index=True)
    funder_id: Mapped[int] = mapped_column(ForeignKey("funders.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("funder_products.id"))
    application_id: Mapped[int] = mapped_column(ForeignKey("credit_applications.id"))
    credit_limit: Mapped[int] = mapped_column(BigInteger)
    annual_rate_ppm: Mapped[int] = mapped_column(Integer)
    max_term_days: Mapped[int] = mapped_column(Integer)
    opened_on: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))  # active | closed
    closed_on: Mapped[date | None] = mapped_column(Date)
    close_reason: Mapped[str | None] = mapped_column(String(200))


class AgentEngagement(Base):
    """The agent's one formal relationship in a product family (``funders.terms``:
    a line, revolving or term; or an order facility): an application in progress or
    an active line. Its primary key is what makes "one funder at a time" hold in
    each family when two requests race, on either database."""

    __tablename__ = "agent_engagements"

    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"), primary_key=True)
    family: Mapped[str] = mapped_column(String(8), primary_key=True)  # line | order
    funder_id: Mapped[int] = mapped_column(BigInteger)
    application_id: Mapped[int] = mapped_column(BigInteger)
    line_id: Mapped[int | None] = mapped_column(BigInteger)
    since: Mapped[date] = mapped_column(Date)
