"""A drawdown on a term product (six equal instalments, 等额本息) keeps the schedule
the borrower was shown, started on the day the money was credited; a revolving
line's drawdown keeps none."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from tests.bank import fund
from tests.credit.market import build_market
from tests.databases import BACKENDS
from tests.loans.story import open_lines
from yirong.books.service import current_business_date
from yirong.funders.service import ProductInput
from yirong.loans.drawdowns import drawdowns_of, request_drawdown
from yirong.pricing.schedule import Method, build_schedule

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
    assert loan.due_date == date(2026, 7, 5)
    assert sum(k.principal for k in loan.instalments) == 333_333


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_lines_drawdown_is_a_bullet(backend: str, tmp_path: Path) -> None:
    market = build_market(backend, tmp_path, agents=2, opted_in=2)
    open_lines(market, 1)
    order = request_drawdown(market.db, market.code(0), 100_000, 30, "bullet")
    fund(market.db, "T1", order.order_ref, 100_000)
    [loan] = drawdowns_of(market.db, market.code(0))
    assert (loan.method, loan.instalments) == ("bullet", ())
    assert loan.due_date == date(2026, 2, 4)  # 30 days from 2026-01-05
