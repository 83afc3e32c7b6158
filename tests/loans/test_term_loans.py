"""A drawdown on a term product (six equal instalments, 等额本息) keeps the schedule
the borrower was shown, started on the day the money was credited, and is held to
it: each instalment falls due on its date; a missed one is overdue the next day
(days past due from it), the wallet frozen and swept, and the loan current again
once it is paid; the whole loan repaid early owes the running period's interest to
the day and nothing of the later periods'. What the end of day accrues is what was
collected. A revolving line's drawdown keeps no schedule."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from tests.bank import fund
from tests.credit.market import build_market
from tests.databases import BACKENDS
from tests.loans.story import close_days_until, open_lines
from yirong.books.service import current_business_date
from yirong.errors import YirongError
from yirong.funders.service import ProductInput
from yirong.ledger import service as ledger
from yirong.ledger.verify import verify
from yirong.loans.drawdowns import drawdowns_of, preview_drawdown, request_drawdown
from yirong.loans.repayments import owed_now, repay
from yirong.loans.reversals import reverse_repayment
from yirong.loans.standing import agent_standing
from yirong.money import round_half_up_fen
from yirong.pricing.schedule import Method, build_schedule
from yirong.wallets import service as wallets

SIX_MONTHS = ProductInput(
    code="LINE",  # the scorecard's product
    name="Six equal instalments",
    kind="term",
    method="equal-installment",
    periods=6,
    min_rate=Decimal("0.08"),
    max_rate=Decimal("0.18"),
    min_limit=100_000,
    max_limit=50_000_000,
    min_term_days=7,
    max_term_days=366,
    day_basis=365,
)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_term_drawdown_keeps_the_schedule_it_was_shown(backend: str, tmp_path: Path) -> None:
    market = build_market(backend, tmp_path, agents=2, opted_in=2, t1_product=SIX_MONTHS)
    open_lines(market, 1)
    db, agent = market.db, market.code(0)
    before = preview_drawdown(db, agent, 333_333, 60)  # what the borrower is shown
    order = request_drawdown(db, agent, 333_333, 60, "six")
    assert order.method == "equal-installment" and order.instalments == ()
    credited_on = current_business_date(db)
    fund(db, "T1", order.order_ref, 333_333)

    [loan] = drawdowns_of(db, agent)
    shown = build_schedule(
        333_333, Decimal("0.12"), Method.EQUAL_INSTALLMENT, credited_on, periods=6, day_basis=365
    )
    assert loan.status == "credited" and loan.credited_on == credited_on
    assert [(k.n, k.due_date, k.principal, k.interest) for k in loan.instalments] == [
        (r.n, r.due_date, r.principal, r.interest) for r in shown.installments
    ]
    # Monthly from the day it was credited (2026-01-05), the last due the loan's end.
    assert [k.due_date for k in loan.instalments] == [date(2026, m, 5) for m in range(2, 8)]
    assert [(k.n, k.due_date, k.principal, k.interest) for k in loan.instalments] == [
        (r.n, r.due_date, r.principal, r.interest) for r in before.installments
    ]
    assert loan.due_date == date(2026, 2, 5)  # measured by its oldest unpaid instalment
    assert sum(k.principal for k in loan.instalments) == 333_333


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_lines_drawdown_is_a_bullet(backend: str, tmp_path: Path) -> None:
    market = build_market(backend, tmp_path, agents=2, opted_in=2)
    open_lines(market, 1)
    # Shown before: one repayment in 30 days, 100,000 × 12% × 30 / 360 = 1,000 fen.
    [row] = preview_drawdown(market.db, market.code(0), 100_000, 30).installments
    assert (row.due_date, row.principal, row.interest) == (date(2026, 2, 4), 100_000, 1_000)
    order = request_drawdown(market.db, market.code(0), 100_000, 30, "bullet")
    fund(market.db, "T1", order.order_ref, 100_000)
    [loan] = drawdowns_of(market.db, market.code(0))
    assert (loan.method, loan.instalments) == ("bullet", ())
    assert loan.due_date == date(2026, 2, 4)  # 30 days from 2026-01-05


def _day_charge(fen: int, rate: str, days: int) -> int:
    """``fen`` for ``days`` at the annual ``rate`` on a 365-day basis, to the fen,
    half-up: the arithmetic as a borrower would do it by hand."""
    return round_half_up_fen(Decimal(fen) * Decimal(rate) * days / 365)


def _income(db) -> int:  # type: ignore[no-untyped-def]
    return db.run(
        lambda tx: ledger.balance_of(tx, ledger.account_by_code(tx, "loan:T1:income")).balance
    )


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_term_loan_falls_due_by_instalment(backend: str, tmp_path: Path) -> None:
    market = build_market(backend, tmp_path, agents=2, opted_in=2, t1_product=SIX_MONTHS)
    open_lines(market, 1)
    db, agent = market.db, market.code(0)
    handle = f"agent:{agent}"
    order = request_drawdown(db, agent, 333_333, 60, "six")
    fund(db, "T1", order.order_ref, 333_333)
    # Spent at once: the wallet holds nothing the sweep could take.
    wallets.pay_carrier(db, handle, wallets.wallet(db, handle).balance, "spend")
    [k1, k2, k3, k4, k5, k6] = build_schedule(
        333_333,
        Decimal("0.12"),
        Method.EQUAL_INSTALLMENT,
        date(2026, 1, 5),
        periods=6,
        day_basis=365,
    ).installments

    # Ten days in, nothing has fallen due; settling would cost ten days' interest:
    # 333,333 × 12% × 10 / 365 = 1,095.89 fen -> 1,096.
    close_days_until(market, date(2026, 1, 15))
    [owed] = owed_now(db, agent)
    assert (owed.principal, owed.interest, owed.penalty) == (333_333, 1_096, 0)
    [loan] = agent_standing(db, agent).loans
    assert loan.due.total == 0 and loan.days_past_due == 0

    # On its date the first instalment is due, exactly as shown; more than it, short
    # of everything, is refused: a term loan is paid by instalments or all at once.
    close_days_until(market, date(2026, 2, 5))
    [loan] = agent_standing(db, agent).loans
    assert (loan.due.principal, loan.due.interest, loan.due.penalty) == (
        k1.principal,
        k1.interest,
        0,
    )
    wallets.credit_from_bank(db, handle, k1.total + 10, "top-up-1")
    with pytest.raises(YirongError) as refused:
        repay(db, agent, k1.total + 1, "too-much")
    assert refused.value.code == "term_prepayment_partial"
    repay(db, agent, k1.total, "k1")
    [loan] = drawdowns_of(db, agent)
    assert (loan.status, loan.due_date) == ("credited", date(2026, 3, 5))

    # The second is missed: overdue the next day, the wallet frozen, one day past due.
    close_days_until(market, date(2026, 3, 6))
    [loan] = drawdowns_of(db, agent)
    assert (loan.status, loan.due_date) == ("overdue", date(2026, 3, 5))
    standing = agent_standing(db, agent)
    assert (standing.days_past_due, standing.bucket) == (1, "M1")
    wallet = wallets.wallet(db, handle)
    assert "overdue" in wallet.freezes and wallet.balance == 0  # the 10 fen were swept
    with pytest.raises(YirongError) as refused:
        wallets.request_withdrawal(db, handle, 1, "wd")
    assert refused.value.code == "account_frozen"

    # Two days late (03-06, 03-07): penalty at 18% (1.5 × 12%) on the instalment's
    # principal, compound interest at 18% on its unpaid interest, each by hand. The
    # 10 fen were swept at the end of 03-05, when no penalty had run yet: they paid
    # interest (the product's order: penalty, interest, principal).
    close_days_until(market, date(2026, 3, 8))
    penalty = _day_charge(k2.principal, "0.18", 2) + _day_charge(k2.interest - 10, "0.18", 2)
    [loan] = agent_standing(db, agent).loans
    assert (loan.due.principal, loan.due.interest, loan.due.penalty) == (
        k2.principal,
        k2.interest - 10,
        penalty,
    )
    # The end of day has accrued what fell due and what ran late, to the fen.
    assert _income(db) == k1.interest + k2.interest + penalty
    # A credit into the frozen wallet repays it: current again, unfrozen.
    wallets.credit_from_bank(db, handle, loan.due.total, "top-up-2")
    [loan] = drawdowns_of(db, agent)
    assert (loan.status, loan.due_date) == ("credited", date(2026, 4, 5))
    assert wallets.wallet(db, handle).freezes == ()
    assert agent_standing(db, agent).days_past_due == 0

    # Repaid early on 03-10: the principal left and five days' interest since 03-05
    # on it; the later periods' interest is never charged.
    close_days_until(market, date(2026, 3, 10))
    left = k3.principal + k4.principal + k5.principal + k6.principal
    running = _day_charge(left, "0.12", 5)
    [owed] = owed_now(db, agent)
    assert (owed.principal, owed.interest, owed.penalty) == (left, running, 0)
    wallets.credit_from_bank(db, handle, owed.total, "top-up-3")
    paid = repay(db, agent, None, "all")
    assert (paid.principal, paid.interest, paid.penalty) == (left, running, 0)
    [loan] = drawdowns_of(db, agent)
    assert loan.status == "repaid" and owed_now(db, agent) == []

    # The end of day accrued, in all, exactly what was collected.
    close_days_until(market, date(2026, 3, 12))
    assert _income(db) == k1.interest + k2.interest + running + penalty
    report = verify(db)
    assert report.ok, report


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_term_loans_repayment_reversed_is_as_if_never_made(backend: str, tmp_path: Path) -> None:
    market = build_market(backend, tmp_path, agents=2, opted_in=2, t1_product=SIX_MONTHS)
    open_lines(market, 1)
    db, agent = market.db, market.code(0)
    order = request_drawdown(db, agent, 333_333, 60, "six")
    fund(db, "T1", order.order_ref, 333_333)
    [k1, *_] = build_schedule(
        333_333,
        Decimal("0.12"),
        Method.EQUAL_INSTALLMENT,
        date(2026, 1, 5),
        periods=6,
        day_basis=365,
    ).installments
    close_days_until(market, date(2026, 2, 5))
    [before] = agent_standing(db, agent).loans

    # The first instalment paid, then reversed the same day (the funder still holds it):
    # it is owed again, exactly as before, and the loan is what it was.
    paid = repay(db, agent, k1.total, "k1")
    assert drawdowns_of(db, agent)[0].due_date == date(2026, 3, 5)
    reverse_repayment(db, paid.id, "paid twice by mistake")
    [again] = agent_standing(db, agent).loans
    assert (again.due, again.owed, again.due_date) == (before.due, before.owed, date(2026, 2, 5))

    # Everything repaid, then reversed: the loan runs again, and what its close added
    # to the funder's closed totals is taken back, so the accrual stays what it charged.
    settled = repay(db, agent, None, "all")
    assert drawdowns_of(db, agent)[0].status == "repaid"
    reverse_repayment(db, settled.id, "the agent's bank recalled it")
    [loan] = drawdowns_of(db, agent)
    assert (loan.status, loan.due_date) == ("credited", date(2026, 2, 5))
    assert agent_standing(db, agent).loans[0].owed == before.owed

    # Unpaid, the first instalment is late the next day: overdue, the wallet frozen.
    wallets.pay_carrier(db, f"agent:{agent}", wallets.wallet(db, f"agent:{agent}").available, "x")
    close_days_until(market, date(2026, 2, 6))
    assert drawdowns_of(db, agent)[0].status == "overdue"
    assert _income(db) == k1.interest  # due 02-05; nothing late is charged yet
    # A day later: one day (02-06) late on it, penalty and compound interest.
    close_days_until(market, date(2026, 2, 7))
    late = _day_charge(k1.principal, "0.18", 1) + _day_charge(k1.interest, "0.18", 1)
    assert _income(db) == k1.interest + late
    report = verify(db)
    assert report.ok, report
