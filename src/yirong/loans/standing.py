"""How loans stand, by days past due and bucket (see ``loans.buckets``): each drawdown
and an agent as of the business date (an agent is as late as its latest loan), and a
funder's book as of its last closed day (the end of day's snapshot) with the loans
past due, latest first; and an agent's line, what it carries and what is left."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import and_, func, or_, select

from yirong.agents.service import agent_row
from yirong.agents.tables import Agent
from yirong.books.service import business_date_of
from yirong.credit.applications import LineView, current_credit_in
from yirong.credit.tables import CREDIT_LINE
from yirong.funders.service import funder_row
from yirong.infra.db import Tx, read_only
from yirong.loans.allocation import Owed
from yirong.loans.buckets import NAMES, bucket, days_of, days_past_due
from yirong.loans.debts import debts_of
from yirong.loans.drawdowns import used_on_line
from yirong.loans.repayments import OUTSTANDING
from yirong.loans.tables import Drawdown, PortfolioSnapshot


@dataclass(frozen=True, slots=True)
class LoanStanding:
    drawdown_id: int
    order_ref: str
    agent_code: str
    status: str
    due_date: date | None
    days_past_due: int
    bucket: str
    owed: Owed  # everything (a term loan's payoff)
    due: Owed  # what has fallen due (a bullet loan: everything)


@dataclass(frozen=True, slots=True)
class AgentStanding:
    agent_code: str
    business_date: date
    days_past_due: int
    bucket: str
    loans: tuple[LoanStanding, ...]

    @property
    def owed(self) -> int:
        return sum(loan.owed.total for loan in self.loans)


@dataclass(frozen=True, slots=True)
class BucketLine:
    bucket: str
    loans: int
    principal: int
    interest_due: int
    penalty_due: int


@dataclass(frozen=True, slots=True)
class Portfolio:
    funder_code: str
    as_of: date | None  # the closed day the snapshot is of (None: no day closed yet)
    buckets: tuple[BucketLine, ...]  # every bucket, in order, zeros included


def _standings(
    tx: Tx, rows: Sequence[tuple[Drawdown, str]], today: date
) -> tuple[LoanStanding, ...]:
    """Each loan's standing: days past due from its due date (a term loan's: its
    oldest unpaid instalment's), what it owes in all and what has fallen due."""
    debts = debts_of(tx, [d for d, _ in rows], today)
    standings = []
    for (d, agent_code), debt in zip(rows, debts, strict=True):
        dpd = days_past_due(d.due_date, today)
        standings.append(
            LoanStanding(
                d.id,
                d.order_ref,
                agent_code,
                d.status,
                d.due_date,
                dpd,
                bucket(dpd),
                debt.payoff,
                debt.due,
            )
        )
    return tuple(standings)


def agent_standing_in(tx: Tx, agent_code: str) -> AgentStanding:
    agent = agent_row(tx, agent_code)
    today = business_date_of(tx)
    rows = tx.session.scalars(
        select(Drawdown)
        .where(Drawdown.agent_id == agent.id, Drawdown.status.in_(OUTSTANDING))
        .order_by(Drawdown.credited_on, Drawdown.id)
    )
    loans = _standings(tx, [(d, agent.code) for d in rows], today)
    dpd = max((loan.days_past_due for loan in loans), default=0)
    return AgentStanding(agent.code, today, dpd, bucket(dpd), loans)


agent_standing = read_only(agent_standing_in)


@dataclass(frozen=True, slots=True)
class LineUse:
    """The agent's line as it can borrow on it today."""

    line: LineView
    used: int  # orders waiting for money and principal outstanding
    available: int  # what a drawdown may ask for now (never below zero)


@read_only
def line_use(tx: Tx, agent_code: str) -> LineUse | None:
    """The agent's active line, what it carries and what is left; None without one."""
    _application, line = current_credit_in(tx, agent_code)
    if line is None:
        return None
    used = used_on_line(tx, CREDIT_LINE.number_of(line.id))
    return LineUse(line, used, max(line.credit_limit - used, 0))


@read_only
def platform_book(tx: Tx) -> Portfolio:
    """Every funder's book together, by bucket, at the end of the last closed day (the
    end of day's snapshot: a few rows, however many loans)."""
    as_of = tx.session.scalar(select(func.max(PortfolioSnapshot.business_date)))
    rows = tx.conn.execute(
        select(
            PortfolioSnapshot.bucket,
            func.sum(PortfolioSnapshot.loans),
            func.sum(PortfolioSnapshot.principal),
            func.sum(PortfolioSnapshot.interest_due),
            func.sum(PortfolioSnapshot.penalty_due),
        )
        .where(PortfolioSnapshot.business_date == as_of)
        .group_by(PortfolioSnapshot.bucket)
    ).all()
    totals = {name: (0, 0, 0, 0) for name in NAMES}
    for name, *values in rows:
        totals[name] = tuple(int(v or 0) for v in values)  # type: ignore[assignment]
    return Portfolio("", as_of, tuple(BucketLine(name, *values) for name, values in totals.items()))


@read_only
def funder_portfolio(tx: Tx, funder_code: str, on: date | None = None) -> Portfolio:
    """The funder's book by bucket at the end of ``on`` (default: the last closed day)."""
    funder = funder_row(tx, funder_code)
    query = select(PortfolioSnapshot.business_date).where(PortfolioSnapshot.funder_id == funder.id)
    if on is not None:
        query = query.where(PortfolioSnapshot.business_date <= on)
    as_of = tx.session.scalar(query.order_by(PortfolioSnapshot.business_date.desc()).limit(1))
    totals = {name: [0, 0, 0, 0] for name in NAMES}
    for s in tx.session.scalars(
        select(PortfolioSnapshot).where(
            PortfolioSnapshot.funder_id == funder.id, PortfolioSnapshot.business_date == as_of
        )
    ):
        line = totals[s.bucket]
        for n, value in enumerate((s.loans, s.principal, s.interest_due, s.penalty_due)):
            line[n] += value
    return Portfolio(
        funder.code, as_of, tuple(BucketLine(name, *values) for name, values in totals.items())
    )


@read_only
def past_due_loans(
    tx: Tx,
    funder_code: str,
    *,
    limit: int = 100,
    offset: int = 0,
    after: tuple[date, int] | None = None,
    bucket: str | None = None,
) -> list[LoanStanding]:
    """The funder's loans past their due date today, the longest past due first
    (``after``: those following the (due date, drawdown id) of a previous page;
    ``bucket``: only those in it)."""
    funder = funder_row(tx, funder_code)
    today = business_date_of(tx)
    fewest, most = days_of(bucket) if bucket else (1, None)
    query = (
        select(Drawdown, Agent.code)
        .join(Agent, Agent.id == Drawdown.agent_id)
        .where(
            Drawdown.funder_id == funder.id,
            Drawdown.status.in_(OUTSTANDING),
            Drawdown.due_date <= today - timedelta(days=max(fewest, 1)),
        )
    )
    if most is not None:
        query = query.where(Drawdown.due_date >= today - timedelta(days=most))
    if after is not None:
        due, last = after
        query = query.where(
            or_(Drawdown.due_date > due, and_(Drawdown.due_date == due, Drawdown.id > last))
        )
    rows = tx.session.execute(
        query.order_by(Drawdown.due_date, Drawdown.id).limit(limit).offset(offset)
    ).all()
    return list(_standings(tx, [(d, code) for d, code in rows], today))
