"""A generated month of daily reconciliation with faults on purpose, on both databases:
a payout the bank never books, a bank debit we did not order, and a funder's loan book
that disagrees on one loan's interest and misses another. Each fault appears as
exactly one listed difference; every other day is clean (the end of day reconciles
each day the morning after its statement)."""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.bank import Bank, funder_account
from tests.databases import BACKENDS
from tests.loans.story import market_with_lines
from yirong.books.service import current_business_date
from yirong.eod.service import run_eod
from yirong.ledger import service as ledger
from yirong.ledger.verify import verify
from yirong.loans.drawdowns import request_drawdown
from yirong.loans.repayments import repay
from yirong.payments.service import open_payments
from yirong.reconciliation import exceptions as queue
from yirong.reconciliation.daily_model import TIMING
from yirong.reconciliation.funder_files import compare_funder_file, funder_file
from yirong.reconciliation.funder_layout import ok_marker
from yirong.reconciliation.kept_days import kept_day

AGENTS = 4
WAIT = 3  # the payment_wait rule's days


def reserve(db) -> int:  # type: ignore[no-untyped-def]
    return db.run(
        lambda tx: ledger.balance_of(tx, ledger.account_by_code(tx, "platform:reserve")).balance
    )


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_a_month_of_daily_reconciliation_with_faults(backend: str, tmp_path: Path) -> None:
    market = market_with_lines(backend, tmp_path, AGENTS)
    db = market.db
    rnd = random.Random(7)
    t1 = funder_account(db, "T1")
    bank = Bank(db, running=0)
    bank.running = reserve(db)
    first_day = current_business_date(db)
    last_day = first_day + timedelta(days=20)
    lost: str | None = None  # the payout the bank never books
    lost_on: date | None = None
    fee_day = first_day + timedelta(days=6)
    draws = 0
    while (today := current_business_date(db)) <= last_day:
        for p in open_payments(db):
            if lost is None and p.kind == "payout":
                lost, lost_on = p.reference, p.instructed_on  # the bank loses this one
            if p.reference == lost or p.instructed_on >= today:
                continue
            bank.debit(p.amount, memo=f"代付 {p.reference}", account=p.payee_account or "")
        for n in range(AGENTS):
            if rnd.random() < 0.3:
                draws += 1
                order = request_drawdown(
                    db, market.code(n), 20_000 * rnd.randint(1, 3), 30, f"d{draws}"
                )
                bank.credit(order.amount, memo=f"放款 {order.order_ref}", account=t1)
        if today > first_day and today.day % 3 == 0:
            repay(db, market.code(today.day % AGENTS), 20_000, f"r{today}")
        if today == fee_day:
            bank.debit(1_800, memo="账户管理费 account fee", name="招商银行")
        bank.close_day()
        run_eod(db)
    assert lost is not None and lost_on is not None and draws >= 10

    # Every reconciled day: clean, or unclean for exactly the injected faults.
    fee = next(e for e in queue.list_exceptions(db) if e.kind == "unordered_debit")
    faults_seen: set[tuple[str, str]] = set()
    reconciled = 0
    for offset in range(20):  # the last day is reconciled the morning after: not yet
        day = first_day + timedelta(days=offset)
        (kept,) = kept_day(db, day)
        reconciled += 1
        figures = kept.figures
        assert figures.difference == figures.explained, day
        listed = {(i.kind.value, i.ref) for i in figures.items if i.kind not in TIMING}
        expected = set()
        if day == fee_day:
            expected.add(("suspense", f"exception:{fee.id}"))
        if (day - lost_on).days > WAIT:
            expected.add(("missing_at_bank", lost))
        assert listed == expected, day
        assert figures.clean == (not expected), day
        faults_seen |= listed
    assert reconciled == 20
    assert faults_seen == {("suspense", f"exception:{fee.id}"), ("missing_at_bank", lost)}

    # The funder's loan book of a day: one loan's interest differs, another is missing.
    day = first_day + timedelta(days=10)
    ours = funder_file(db, "T1", day, "LOANS")
    control, header, *rows = ours.content.decode().rstrip("\n").split("\n")
    assert len(rows) >= 3
    cells = [row.split("|") for row in rows]
    cells[0][3] = str(int(cells[0][3]) + 1)
    dropped = cells.pop()
    totals = [str(sum(int(c[i]) for c in cells)) for i in (2, 3, 4)]
    head = "|".join([*control.split("|")[:4], str(len(cells)), *totals])
    theirs = ("\n".join([head, header, *("|".join(c) for c in cells)]) + "\n").encode()
    check = compare_funder_file(
        db, "T1", day, "LOANS", theirs, ok_marker(theirs), actor="funder:T1"
    )
    assert sorted((d.kind.value, d.key) for d in check.differences) == sorted(
        [("amount_differs", cells[0][0]), ("missing_at_funder", dropped[0])]
    )
    assert verify(db).ok
