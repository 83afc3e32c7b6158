"""A wallet's months for the agent's chart: commissions in and pre-payments out, by
the month the money moved, twelve months with the current one last; and what a filter
of its movements asks for (its pages are tests/ledger/test_movements.py's)."""

from __future__ import annotations

from datetime import date

import pytest

from tests.bank import credit_commissions
from yirong.errors import YirongError
from yirong.infra.db import Database
from yirong.ledger.model import Side
from yirong.ledger.statement import MovementFilter
from yirong.wallets import service as wallets
from yirong.wallets.history import MonthFlow, MovementsAsked, monthly_flows, months_back


def test_months_back_cross_the_year() -> None:
    assert months_back(date(2026, 1, 5), 3) == [
        date(2025, 11, 1),
        date(2025, 12, 1),
        date(2026, 1, 1),
    ]
    assert months_back(date(2026, 3, 31), 1) == [date(2026, 3, 1)]


def test_a_wallets_months(db: Database) -> None:
    wallets.open_wallets(db, [("A001", "Shop 1"), ("A002", "Shop 2")])
    content = b"agent,month,amount\nA001,2025-11,150000\nA002,2025-11,98000\n"
    credit_commissions(db, content, "nov.csv")
    credit_commissions(db, b"agent,month,amount\nA001,2025-12,50000\n", "dec.csv")
    wallets.pay_carrier(db, "agent:A001", 120_000, "stock-1")
    wallets.pay_carrier(db, "agent:A001", 30_000, "stock-2")
    wallets.credit_from_bank(db, "agent:A001", 7_000, "top-up")  # neither: not shown
    flows = monthly_flows(db, "agent:A001")
    # The books are on 2026-01-05: February 2025 to January 2026, all of it in January.
    assert [f.month for f in flows] == [
        date(2025, 2, 1),
        *[date(2025, m, 1) for m in range(3, 13)],
        date(2026, 1, 1),
    ]
    assert flows[-1] == MonthFlow(date(2026, 1, 1), 150_000 + 50_000, 120_000 + 30_000)
    assert all((f.commissions, f.prepayments) == (0, 0) for f in flows[:-1])
    assert monthly_flows(db, "agent:A002")[-1] == MonthFlow(date(2026, 1, 1), 98_000, 0)


@pytest.mark.parametrize(
    ("asked", "code"),
    [
        (MovementsAsked(kind="gifts"), "movement_kind_invalid"),
        (MovementsAsked(direction="sideways"), "direction_invalid"),
        (MovementsAsked(since=date(2026, 2, 1), until=date(2026, 1, 31)), "date_range_invalid"),
    ],
)
def test_a_filter_that_is_not_one_is_refused(asked: MovementsAsked, code: str) -> None:
    with pytest.raises(YirongError) as refused:
        asked.filter()
    assert refused.value.code == code


def test_a_filter_names_the_codes_and_side_of_its_kind() -> None:
    shown = MovementsAsked("repayment", "out", date(2026, 1, 1), date(2026, 1, 31)).filter()
    assert shown.codes == ("loan.repayment", "loan.repayment_reversed")
    assert (shown.side, shown.since, shown.until) == (
        Side.DEBIT,
        date(2026, 1, 1),
        date(2026, 1, 31),
    )
    assert MovementsAsked().filter() == MovementFilter()  # nothing asked: everything
