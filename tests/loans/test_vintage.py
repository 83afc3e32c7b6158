"""Vintages, the post-loan watch list and the loans past due by bucket, against
hand-made books: three loans lent in January 2026 (one repaid before its due date,
one never, one two months late), borrowers' commissions against their own year, and
loans due on dates chosen for their buckets."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import insert

from tests.bank import fund
from tests.credit.market import advance_to
from tests.databases import BACKENDS
from tests.loans.story import market_with_lines
from yirong.agents.service import agent_row
from yirong.errors import YirongError
from yirong.features.tables import AgentFeatures
from yirong.loans.buckets import bucket, days_of
from yirong.loans.drawdowns import request_drawdown
from yirong.loans.repayments import repay
from yirong.loans.standing import past_due_loans
from yirong.loans.vintage import vintages, watch_list


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_januarys_vintage_month_by_month(tmp_path: Path, backend: str) -> None:
    market = market_with_lines(backend, tmp_path, 3)
    db = market.db
    for n in range(3):  # 100,000 fen each for 7 days from 2026-01-05: due 2026-01-12
        order = request_drawdown(db, market.code(n), 100_000, 7, f"loan-{n}")
        fund(db, "T1", order.order_ref, 100_000)
    advance_to(db, date(2026, 1, 10))
    repay(db, market.code(0), None, "early")  # closed before it fell due
    advance_to(db, date(2026, 3, 20))
    repay(db, market.code(2), None, "late")  # 67 days late, closed on 2026-03-20
    advance_to(db, date(2026, 5, 5))
    [january] = [v for v in vintages(db, "T1", cohorts=5, horizon=5) if v.loans]
    assert (january.cohort, january.loans, january.lent) == (date(2026, 1, 1), 3, 300_000)
    third, two_thirds = Decimal(1) / 3, Decimal(2) / 3
    # End of February: two loans 30+ days past due; of March and April: only the one
    # never repaid; May and June have not ended.
    assert january.past_due == (two_thirds, third, third, None, None)
    empty = vintages(db, "T2", cohorts=2, horizon=2)
    assert [(v.loans, v.past_due) for v in empty] == [(0, (None, None))] * 2


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_watch_list_holds_borrowers_whose_commissions_fell_by_half(
    tmp_path: Path, backend: str
) -> None:
    market = market_with_lines(backend, tmp_path, 3)
    db = market.db
    for n in range(3):
        order = request_drawdown(db, market.code(n), 100_000 + n, 30, f"loan-{n}")
        fund(db, "T1", order.order_ref, 100_000 + n)
    # A year of 1,200,000 fen (a quarter: 300,000); the last quarter: 150,000 (a fall
    # of exactly half), 150,001 (just under half), 60,000 (80%).
    quarters = {0: 150_000, 1: 150_001, 2: 60_000}

    def features(tx) -> None:  # type: ignore[no-untyped-def]
        for n, last in quarters.items():
            tx.conn.execute(
                insert(AgentFeatures).values(
                    agent_id=agent_row(tx, market.code(n)).id,
                    as_of=date(2026, 2, 1),
                    income_3m=last,
                    income_6m=last * 2,
                    income_12m=1_200_000,
                    prepay_12m=0,
                    months_without_income=0,
                    trend_ppm=None,
                    volatility_ppm=None,
                    tenure_months=24,
                    overdue_days=0,
                )
            )

    db.run(features)
    found = [w for _, w in watch_list(db, "T1")]
    assert [(w.agent_code, w.outstanding, w.fall) for w in found] == [
        (market.code(0), 100_000, Decimal("0.5")),
        (market.code(2), 100_002, Decimal("0.8")),
    ]
    assert watch_list(db, "T2") == []  # not its borrowers
    first, *_ = watch_list(db, "T1", limit=1)
    assert [w.agent_code for _, w in watch_list(db, "T1", after=first[0])] == [market.code(2)]


@pytest.mark.parametrize(
    ("name", "days"),
    [("M0", (0, 0)), ("M1", (1, 30)), ("M2", (31, 60)), ("M3", (61, 90)), ("M3+", (91, None))],
)
def test_each_bucket_holds_its_days_past_due(name: str, days: tuple[int, int | None]) -> None:
    assert days_of(name) == days
    assert bucket(days[0]) == name and (days[1] is None or bucket(days[1]) == name)


def test_a_bucket_that_is_not_one_is_refused() -> None:
    with pytest.raises(YirongError) as refused:
        days_of("M9")
    assert refused.value.code == "bucket_invalid"


@pytest.mark.parametrize("backend", BACKENDS)
def test_loans_past_due_by_bucket(tmp_path: Path, backend: str) -> None:
    market = market_with_lines(backend, tmp_path, 3)
    db = market.db
    for n in range(3):  # due 2026-01-12, 2026-02-11 and 2026-03-13: 7, 37 and 67 days
        order = request_drawdown(db, market.code(n), 100_000, 7 + 30 * n, f"loan-{n}")
        fund(db, "T1", order.order_ref, 100_000)
    advance_to(db, date(2026, 5, 19))  # 127, 97 and 67 days past due
    every = past_due_loans(db, "T1")
    assert [(loan.agent_code, loan.days_past_due) for loan in every] == [
        (market.code(0), 127),
        (market.code(1), 97),
        (market.code(2), 67),
    ]
    assert [loan.agent_code for loan in past_due_loans(db, "T1", bucket="M3+")] == [
        market.code(0),
        market.code(1),
    ]
    assert [loan.agent_code for loan in past_due_loans(db, "T1", bucket="M3")] == [market.code(2)]
    assert past_due_loans(db, "T1", bucket="M1") == []
