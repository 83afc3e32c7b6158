"""Term loans as the database keeps them: a drawdown's schedule (``drawdown_instalments``)
and its repayments' parts are the loan; the model (``loans/model/term.py``) replays
them to say what it owes, and every figure stored on the drawdown row (principal
outstanding, what was paid, the day it falls overdue, what it has charged) is written
from the model by :func:`sync`, never worked out anywhere else.

A reversed repayment is one left out of the replay: only a drawdown's latest
repayment may be reversed, so the ones before it replay exactly as they were made."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, timedelta

from sqlalchemy import select

from yirong.infra.db import Tx
from yirong.loans import model
from yirong.loans.accruals import add_to_closed
from yirong.loans.allocation import Owed, parse_order
from yirong.loans.model.term import Instalment, Rules, TermLoan
from yirong.loans.tables import Drawdown, DrawdownInstalment, Repayment, RepaymentPart
from yirong.pricing.schedule import Method


def is_term(d: Drawdown) -> bool:
    return d.method != Method.BULLET


def rules_of(d: Drawdown) -> Rules:
    return Rules(
        annual_rate_ppm=d.annual_rate_ppm,
        penalty_rate_ppm=d.penalty_rate_ppm,
        day_basis=d.day_basis,
        grace_days=d.grace_days,
        compounds=d.compounds,
        order=parse_order(d.allocation_order),
    )


def term_loans(
    tx: Tx, drawdowns: Sequence[Drawdown], *, leaving_out: int | None = None
) -> dict[int, TermLoan]:
    """Each term drawdown of ``drawdowns`` as the model has it now (``leaving_out``:
    as if that repayment had never been made), replayed from its schedule and its
    repayments in the order made. Two queries for any number of loans."""
    term = {d.id: d for d in drawdowns if is_term(d)}
    if not term:
        return {}
    schedules: dict[int, list[Instalment]] = defaultdict(list)
    for row in tx.session.scalars(
        select(DrawdownInstalment)
        .where(DrawdownInstalment.drawdown_id.in_(term))
        .order_by(DrawdownInstalment.drawdown_id, DrawdownInstalment.n)
    ):
        schedules[row.drawdown_id].append(
            Instalment(row.n, row.due_date, row.principal, row.interest)
        )
    paid: dict[int, list[tuple[date, RepaymentPart]]] = defaultdict(list)
    query = (
        select(Repayment.business_date, RepaymentPart)
        .join(Repayment, Repayment.id == RepaymentPart.repayment_id)
        .where(RepaymentPart.drawdown_id.in_(term), Repayment.reversed_on.is_(None))
        .order_by(Repayment.id)
    )
    if leaving_out is not None:
        query = query.where(Repayment.id != leaving_out)
    for day, part in tx.session.execute(query):
        paid[part.drawdown_id].append((day, part))
    loans = {}
    for drawdown_id, d in term.items():
        assert d.credited_on is not None, "a term loan has a schedule once credited"
        loan = TermLoan.start(rules_of(d), d.credited_on, schedules[drawdown_id])
        for day, part in paid[drawdown_id]:
            loan, parts = loan.repay(day, part.penalty + part.interest + part.principal)
            # The split replayed is the split booked: anything else is a changed rule.
            assert (
                sum(p.penalty + p.compound for p in parts),
                sum(p.interest for p in parts),
                sum(p.principal for p in parts),
            ) == (part.penalty, part.interest, part.principal), f"drawdown {drawdown_id}"
        loans[drawdown_id] = loan
    return loans


def owed_on(loan: TermLoan, drawdown_id: int, today: date) -> tuple[Owed, Owed]:
    """What the loan owes today: what has fallen due (repayable in any part), and its
    payoff (提前还款: that, the principal not yet due and the running period's interest
    to the day)."""
    position = loan.position(today)
    owing = position.owing
    penalty = sum(o.penalty + o.compound for o in owing)
    interest = sum(o.interest for o in owing)
    due = Owed(drawdown_id, penalty, interest, sum(o.principal for o in owing))
    everything = Owed(
        drawdown_id, penalty, interest + position.running_interest, loan.principal_left
    )
    return due, everything


def sync(tx: Tx, d: Drawdown, loan: TermLoan, today: date, overdue_on: date | None = None) -> None:
    """Write on the drawdown what the model says of it on ``today``: its principal
    outstanding, what was paid, the oldest unpaid instalment's due date and first late
    day, what it has charged to the end of today, and its state: repaid when nothing
    is left (its charges then join its funder's closed totals, as a bullet loan's
    closed clock does), current again when nothing that fell due is unpaid past its
    grace on ``overdue_on`` (default today; the end of day's sweep says tomorrow, the
    day it made the loan overdue from). Undone by :func:`reopen` when a repayment is
    reversed."""
    d.principal_paid = sum(led.principal_paid for led in loan.ledgers)
    d.interest_paid = sum(led.interest_paid for led in loan.ledgers)
    d.penalty_paid = sum(led.penalty_paid + led.compound_paid for led in loan.ledgers)
    d.principal = loan.principal_left
    d.interest_charged, d.penalty_charged = loan.earned(today + timedelta(days=1))
    late = loan.late_day(today)
    if late is None:
        if d.accrual_open:
            _close_totals(tx, d, +1)
            d.accrual_open = False
        d.status = model.after(d.status, model.Event.REPAID, drawdown=d.id)
        d.closed_on = today
        return
    d.overdue_day = late.toordinal()
    d.due_date = late - timedelta(days=d.grace_days + 1)
    if d.status == model.DrawdownStatus.OVERDUE and late > (overdue_on or today):
        d.status = model.after(d.status, model.Event.CURED, drawdown=d.id)


def reopen(tx: Tx, d: Drawdown, loan: TermLoan, today: date) -> None:
    """The drawdown as the model has it once a repayment is left out: owed again (past
    due or not), its charges taken back out of its funder's closed totals if that
    repayment had closed it."""
    if not d.accrual_open:
        _close_totals(tx, d, -1)
        d.accrual_open = True
    late = loan.late_day(today)
    assert late is not None, "a loan a reversal reopens owes something"
    d.status = model.after(
        d.status, model.reopened(overdue=loan.position(today).overdue), drawdown=d.id
    )
    d.closed_on = None
    sync(tx, d, loan, today)


TERM_METHODS = tuple(m.value for m in Method if m is not Method.BULLET)


def charge_open(tx: Tx, day: date) -> int:
    """Write on every running term loan what it has charged to the end of ``day``,
    for the end of day's SQL to read (its accrual and snapshot, the funders' loan
    books). Returns how many there were. Nothing else changes without a repayment:
    the day a loan falls overdue was written when it was last paid."""
    rows = tx.session.scalars(
        select(Drawdown)
        .where(Drawdown.method.in_(TERM_METHODS), Drawdown.status.in_(sorted(model.LENT)))
        .order_by(Drawdown.id)
    ).all()
    end = day + timedelta(days=1)
    loans = term_loans(tx, rows)
    for d in rows:
        d.interest_charged, d.penalty_charged = loans[d.id].earned(end)
    tx.session.flush()
    return len(rows)


def _close_totals(tx: Tx, d: Drawdown, sign: int) -> None:
    charges = {"interest": d.interest_charged, "penalty": d.penalty_charged}
    add_to_closed(tx, d.funder_id, d.product_id, {k: sign * v for k, v in charges.items()})
