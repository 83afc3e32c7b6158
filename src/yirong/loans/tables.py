"""Loans: drawdowns (借据) with their interest clocks, the bank money that funds them
(matched or held in suspense), repayments and their split, the accrual totals the
end of day posts from, daily portfolio snapshots and funders' monthly statements."""

from __future__ import annotations

from datetime import date

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    UniqueConstraint,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from yirong.infra.base import Base, Id


class Drawdown(Base):
    """One drawdown on a line: the order to the funder, then the loan it becomes.

    status: see ``loans/model/lifecycle.py``: requested -> credited (-> overdue) ->
    repaid, or expired, rejected, cancelled before any money; ``funded`` when the money
    arrived but the wallet could not take it (it waits in the funder's account, and
    its payout that evening returns it: ``returned``).
    The interest clock (see ``loans.interest``): ``principal`` outstanding since the day
    ``since_day`` (an ordinal), the fen-days accumulated before it, and the first day
    at the penalty rate, ``overdue_day``."""

    __tablename__ = "drawdowns"
    __table_args__ = (
        UniqueConstraint("agent_id", "request_key"),
        Index("ix_drawdowns_agent_status", "agent_id", "status"),
        Index("ix_drawdowns_status_overdue", "status", "overdue_day"),
        Index("ix_drawdowns_status_fund_by", "status", "fund_by"),
        Index("ix_drawdowns_method_status", "method", "status"),
        # Vintages read a funder's loans by the month they were lent, from the index
        # alone (it holds every column they need).
        Index(
            "ix_drawdowns_funder_credited",
            "funder_id",
            "credited_on",
            "due_date",
            "closed_on",
            "amount",
        ),
        Index("ix_drawdowns_funder_due", "funder_id", "due_date"),  # loans past due, oldest first
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    order_ref: Mapped[str] = mapped_column(String(32), unique=True)
    request_key: Mapped[str] = mapped_column(String(128))
    line_id: Mapped[int] = mapped_column(ForeignKey("credit_lines.id"), index=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"))
    funder_id: Mapped[int] = mapped_column(ForeignKey("funders.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("funder_products.id"))
    amount: Mapped[int] = mapped_column(BigInteger)  # the principal asked for and lent
    fee: Mapped[int] = mapped_column(BigInteger)  # upfront, kept by the funder
    term_days: Mapped[int] = mapped_column(Integer)
    annual_rate_ppm: Mapped[int] = mapped_column(Integer)
    penalty_rate_ppm: Mapped[int] = mapped_column(Integer)
    day_basis: Mapped[int] = mapped_column(SmallInteger)
    grace_days: Mapped[int] = mapped_column(SmallInteger)
    allocation_order: Mapped[str] = mapped_column(String(64))
    compounds: Mapped[bool] = mapped_column(Boolean, server_default=true(), default=True)
    # bullet (a revolving line's drawdown: its interest clock) or the product's
    # instalment method (equal-installment...): then its instalments are its schedule.
    method: Mapped[str] = mapped_column(String(24), server_default="bullet")
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(64))
    requested_on: Mapped[date] = mapped_column(Date)
    fund_by: Mapped[date] = mapped_column(Date)  # no money by the end of this day: expired
    credited_on: Mapped[date | None] = mapped_column(Date)  # interest starts this day
    due_date: Mapped[date | None] = mapped_column(Date)
    closed_on: Mapped[date | None] = mapped_column(Date)
    principal: Mapped[int] = mapped_column(BigInteger, default=0)
    since_day: Mapped[int] = mapped_column(Integer, default=0)
    normal_fen_days: Mapped[int] = mapped_column(BigInteger, default=0)
    penalty_fen_days: Mapped[int] = mapped_column(BigInteger, default=0)
    overdue_day: Mapped[int] = mapped_column(Integer, default=0)
    interest_paid: Mapped[int] = mapped_column(BigInteger, default=0)
    penalty_paid: Mapped[int] = mapped_column(BigInteger, default=0)
    principal_paid: Mapped[int] = mapped_column(BigInteger, default=0)
    # True while the clock runs (principal outstanding): the end of day's accrual reads
    # only these; a closed clock's charge is added to its funder's closed total.
    accrual_open: Mapped[bool] = mapped_column(Boolean, default=False)
    # A term loan's charges to the end of the day before its last sync (the scheduled
    # interest of instalments fallen due; penalty and compound interest together),
    # written from the model (loans/term_loans.py): the SQL of the loan book reads
    # them where a bullet loan's are computed from its clock. Unused for bullet loans.
    interest_charged: Mapped[int] = mapped_column(BigInteger, server_default="0", default=0)
    penalty_charged: Mapped[int] = mapped_column(BigInteger, server_default="0", default=0)


class DrawdownInstalment(Base):
    """A term loan's instalment as its schedule gave it on the day the money was
    credited (loans/model/term.py): what falls due, when."""

    __tablename__ = "drawdown_instalments"

    drawdown_id: Mapped[int] = mapped_column(ForeignKey("drawdowns.id"), primary_key=True)
    n: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    due_date: Mapped[date] = mapped_column(Date)
    principal: Mapped[int] = mapped_column(BigInteger)
    interest: Mapped[int] = mapped_column(BigInteger)


class Repayment(Base):
    """Money from an agent's wallet to its funder: asked for, or swept while overdue."""

    __tablename__ = "repayments"
    __table_args__ = (
        UniqueConstraint("agent_id", "request_key"),
        Index("ix_repayments_funder_date", "funder_id", "business_date"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"), index=True)
    funder_id: Mapped[int] = mapped_column(ForeignKey("funders.id"))
    request_key: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(8))  # asked | sweep
    amount: Mapped[int] = mapped_column(BigInteger)
    penalty: Mapped[int] = mapped_column(BigInteger)
    interest: Mapped[int] = mapped_column(BigInteger)
    principal: Mapped[int] = mapped_column(BigInteger)
    share: Mapped[int] = mapped_column(BigInteger)  # the platform's revenue share
    business_date: Mapped[date] = mapped_column(Date, index=True)
    entry_id: Mapped[int] = mapped_column(BigInteger)
    # Set when an operator reverses it (its postings and share are reversed, the
    # drawdowns owe again as if it had never been made).
    reversed_on: Mapped[date | None] = mapped_column(Date)
    reversal_reason: Mapped[str | None] = mapped_column(String(200))


class RepaymentPart(Base):
    __tablename__ = "repayment_parts"

    repayment_id: Mapped[int] = mapped_column(ForeignKey("repayments.id"), primary_key=True)
    drawdown_id: Mapped[int] = mapped_column(ForeignKey("drawdowns.id"), primary_key=True)
    penalty: Mapped[int] = mapped_column(BigInteger)
    interest: Mapped[int] = mapped_column(BigInteger)
    principal: Mapped[int] = mapped_column(BigInteger)


class AccrualTotal(Base):
    """Per funder, product and kind (interest or penalty): what closed clocks charged,
    and what the end of day has posted to the funder's memo book so far. Today's
    accrual posting is closed + Σ open clocks' charge − posted."""

    __tablename__ = "accrual_totals"

    funder_id: Mapped[int] = mapped_column(ForeignKey("funders.id"), primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("funder_products.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    closed: Mapped[int] = mapped_column(BigInteger, default=0)
    posted: Mapped[int] = mapped_column(BigInteger, default=0)


class PortfolioSnapshot(Base):
    """Each funder's book at the end of a business day, by product and bucket."""

    __tablename__ = "portfolio_snapshots"

    business_date: Mapped[date] = mapped_column(Date, primary_key=True)
    funder_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    product_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    bucket: Mapped[str] = mapped_column(String(4), primary_key=True)  # M0 M1 M2 M3 M3+
    loans: Mapped[int] = mapped_column(Integer)
    principal: Mapped[int] = mapped_column(BigInteger)
    interest_due: Mapped[int] = mapped_column(BigInteger)
    penalty_due: Mapped[int] = mapped_column(BigInteger)


class FreezeRequest(Base):
    """A funder's request that a borrower in default be frozen by contract (冻结申请):
    an operator applies or declines it, and both are audited."""

    __tablename__ = "freeze_requests"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    funder_code: Mapped[str] = mapped_column(String(32), index=True)
    agent_code: Mapped[str] = mapped_column(String(64), index=True)
    note: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))  # requested | applied | declined
    requested_on: Mapped[date] = mapped_column(Date)
    decided_on: Mapped[date | None] = mapped_column(Date)
    decided_by: Mapped[str | None] = mapped_column(String(80))
    decision_note: Mapped[str | None] = mapped_column(String(200))
