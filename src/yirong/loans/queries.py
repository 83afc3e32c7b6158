"""Reads of loans for the API, each one consistent snapshot: drawdowns and repayments
listed in id order from a cursor (narrowed to an agent or a funder), one drawdown
with its parties, what a repayment would pay (split by the same allocation code the
repayment uses, nothing moved), an agent's standing together with its wallet's
freezes, and whether a funder lends to an agent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Select, exists, select

from yirong.agents.service import agent_row
from yirong.agents.tables import Agent
from yirong.books.service import business_date_of
from yirong.credit.tables import CreditLine
from yirong.errors import YirongError
from yirong.funders.tables import Funder
from yirong.infra.db import Tx, read_only
from yirong.infra.paging import page_after
from yirong.loans.allocation import allocate, parse_order
from yirong.loans.debts import debts_of, split_over
from yirong.loans.drawdowns import OPEN
from yirong.loans.repayments import by_funder, outstanding
from yirong.loans.standing import AgentStanding, LoanStanding, agent_standing_in
from yirong.loans.tables import Drawdown, Repayment
from yirong.money import check_amount
from yirong.wallets.tables import Wallet, WalletFreeze


@dataclass(frozen=True, slots=True)
class DrawdownRecord:
    """A drawdown as it stands: the order, then the loan it became."""

    id: int
    order_ref: str
    agent_code: str
    funder_code: str
    amount: int
    fee: int
    term_days: int
    annual_rate_ppm: int
    penalty_rate_ppm: int
    status: str
    reason: str | None
    requested_on: date
    fund_by: date
    credited_on: date | None
    due_date: date | None
    closed_on: date | None
    principal: int  # outstanding
    principal_paid: int
    interest_paid: int
    penalty_paid: int


def _drawdown_query() -> Select[Drawdown, str, str]:
    return (
        select(Drawdown, Agent.code, Funder.code)
        .join(Agent, Agent.id == Drawdown.agent_id)
        .join(Funder, Funder.id == Drawdown.funder_id)
    )


def _record(d: Drawdown, agent_code: str, funder_code: str) -> DrawdownRecord:
    return DrawdownRecord(
        d.id,
        d.order_ref,
        agent_code,
        funder_code,
        d.amount,
        d.fee,
        d.term_days,
        d.annual_rate_ppm,
        d.penalty_rate_ppm,
        d.status,
        d.reason,
        d.requested_on,
        d.fund_by,
        d.credited_on,
        d.due_date,
        d.closed_on,
        d.principal,
        d.principal_paid,
        d.interest_paid,
        d.penalty_paid,
    )


@read_only
def list_drawdowns(
    tx: Tx,
    *,
    agent_code: str | None = None,
    funder_code: str | None = None,
    status: str | None = None,
    after: int = 0,
    limit: int = 50,
) -> list[DrawdownRecord]:
    """Drawdowns in id order after ``after`` (an agent's or a funder's own when given)."""
    query = page_after(
        _drawdown_query(),
        Drawdown.id,
        after,
        limit,
        (Agent.code, agent_code),
        (Funder.code, funder_code),
        (Drawdown.status, status),
    )
    rows = tx.session.execute(query).all()
    return [_record(d, agent, funder) for d, agent, funder in rows]


@read_only
def find_drawdown(tx: Tx, drawdown_id: int) -> DrawdownRecord:
    row = tx.session.execute(_drawdown_query().where(Drawdown.id == drawdown_id)).one_or_none()
    if row is None:
        raise YirongError("drawdown_not_found", drawdown=drawdown_id)
    d, agent, funder = row
    return _record(d, agent, funder)


@dataclass(frozen=True, slots=True)
class RepaymentRecord:
    id: int
    agent_code: str
    funder_code: str
    kind: str  # asked | sweep (taken from a frozen wallet for overdue debt)
    amount: int
    penalty: int
    interest: int
    principal: int
    share: int  # the platform's revenue share of the interest and penalty
    business_date: date
    reversed_on: date | None
    reversal_reason: str | None


@read_only
def list_repayments(
    tx: Tx,
    *,
    agent_code: str | None = None,
    funder_code: str | None = None,
    after: int = 0,
    limit: int = 50,
) -> list[RepaymentRecord]:
    """Repayments in id order after ``after`` (an agent's or a funder's own when given)."""
    query = page_after(
        select(Repayment, Agent.code, Funder.code)
        .join(Agent, Agent.id == Repayment.agent_id)
        .join(Funder, Funder.id == Repayment.funder_id),
        Repayment.id,
        after,
        limit,
        (Agent.code, agent_code),
        (Funder.code, funder_code),
    )
    rows = tx.session.execute(query).all()
    return [
        RepaymentRecord(
            r.id,
            agent,
            funder,
            r.kind,
            r.amount,
            r.penalty,
            r.interest,
            r.principal,
            r.share,
            r.business_date,
            r.reversed_on,
            r.reversal_reason,
        )
        for r, agent, funder in rows
    ]


@dataclass(frozen=True, slots=True)
class PreviewPart:
    """What the repayment would pay on one drawdown, and what it would still owe."""

    drawdown_id: int
    order_ref: str
    penalty: int
    interest: int
    principal: int
    owed_after: int


@dataclass(frozen=True, slots=True)
class RepaymentPreview:
    agent_code: str
    business_date: date
    amount: int
    owed: int  # everything owed today, before the repayment
    penalty: int
    interest: int
    principal: int
    allocation_order: tuple[str, ...]
    parts: tuple[PreviewPart, ...]


@read_only
def preview_repayment(tx: Tx, agent_code: str, amount: int | None) -> RepaymentPreview:
    """What ``repay(agent_code, amount)`` would pay today, drawdown by drawdown and
    component by component (``None``: everything owed); refused as the repayment
    would be. Nothing is moved."""
    agent = agent_row(tx, agent_code)
    today = business_date_of(tx)
    drawdowns = outstanding(tx, agent.id, lock=False)
    if amount is not None:
        amount = check_amount(amount)
    debts = debts_of(tx, drawdowns, today)
    owed, paying = split_over(debts, amount, agent_code)
    left = {x.drawdown.id: x.payoff.total for x in debts}
    order = parse_order(drawdowns[0].allocation_order)
    shares = {  # each funder's part by its own product's order, as the repayment splits it
        s.drawdown_id: s
        for run, run_owed, take in by_funder(debts, owed, paying)
        for s in allocate(take, run_owed, parse_order(run[0].drawdown.allocation_order))
    }
    refs = {d.id: d.order_ref for d in drawdowns}
    parts = tuple(
        PreviewPart(
            o.drawdown_id,
            refs[o.drawdown_id],
            shares[o.drawdown_id].penalty,
            shares[o.drawdown_id].interest,
            shares[o.drawdown_id].principal,
            left[o.drawdown_id] - shares[o.drawdown_id].total,
        )
        for o in owed
        if o.drawdown_id in shares
    )
    return RepaymentPreview(
        agent.code,
        today,
        paying,
        sum(left.values()),
        sum(p.penalty for p in parts),
        sum(p.interest for p in parts),
        sum(p.principal for p in parts),
        order,
        parts,
    )


@dataclass(frozen=True, slots=True)
class Freeze:
    """One reason the wallet is frozen, since when, and the note (not shown to a
    funder: an operator's or a court's note is not its business)."""

    reason: str  # overdue | funder_request | legal_order | risk
    since: date
    note: str | None


@dataclass(frozen=True, slots=True)
class StandingView:
    agent_code: str
    business_date: date
    days_past_due: int  # of its latest loan
    bucket: str  # M0 M1 M2 M3 M3+
    owed: int  # everything owed today
    frozen: bool
    freezes: tuple[Freeze, ...]
    loans: tuple[LoanStanding, ...]


@read_only
def standing_with_freezes(tx: Tx, agent_code: str, *, with_notes: bool = True) -> StandingView:
    """How late the agent is (``loans.standing``) and why its wallet is frozen."""
    standing: AgentStanding = agent_standing_in(tx, agent_code)
    freezes = tuple(
        Freeze(reason, since, note if with_notes else None)
        for reason, since, note in tx.session.execute(
            select(WalletFreeze.reason, WalletFreeze.frozen_on, WalletFreeze.note)
            .join(Wallet, Wallet.id == WalletFreeze.wallet_id)
            .where(
                Wallet.owner_type == "agent",
                Wallet.owner_code == standing.agent_code,
                WalletFreeze.lifted_on.is_(None),
            )
            .order_by(WalletFreeze.frozen_on, WalletFreeze.id)
        )
    )
    return StandingView(
        standing.agent_code,
        standing.business_date,
        standing.days_past_due,
        standing.bucket,
        standing.owed,
        bool(freezes),
        freezes,
        standing.loans,
    )


@read_only
def lends_to(tx: Tx, funder_code: str, agent_code: str) -> bool:
    """The funder has an active line with the agent, or a drawdown of it still open."""
    agent = select(Agent.id).where(Agent.code == agent_code).scalar_subquery()
    funder = select(Funder.id).where(Funder.code == funder_code).scalar_subquery()
    line = exists().where(
        CreditLine.agent_id == agent, CreditLine.funder_id == funder, CreditLine.status == "active"
    )
    loan = exists().where(
        Drawdown.agent_id == agent, Drawdown.funder_id == funder, Drawdown.status.in_(OPEN)
    )
    return bool(tx.session.scalar(select(line | loan)))
