"""A month of statements with faults injected on purpose, on both databases: every
fault shows as exactly one exception of its type, every clean line matches, the
notices meet their money, and the books verify (the reserve account's balance in the
books is the bank's closing balance)."""

from __future__ import annotations

import random
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.bank import Bank, funder_account, line_outcome
from tests.databases import BACKENDS
from tests.loans.story import market_with_lines
from yirong.books.service import current_business_date
from yirong.eod.service import run_eod
from yirong.ledger import service as ledger
from yirong.ledger.verify import verify
from yirong.loans.drawdowns import request_drawdown
from yirong.payments.service import open_payments
from yirong.reconciliation.exceptions import list_exceptions
from yirong.reconciliation.notices import notices, record_notice
from yirong.wallets import service as wallets

AGENTS = 6
LAST_DAY = date(2026, 1, 30)


def reserve(db) -> int:  # type: ignore[no-untyped-def]
    return db.run(
        lambda tx: ledger.balance_of(tx, ledger.account_by_code(tx, "platform:reserve")).balance
    )


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_a_month_of_statements_with_faults(backend: str, tmp_path: Path) -> None:
    market = market_with_lines(backend, tmp_path, AGENTS)
    db = market.db
    rnd = random.Random(11)
    t1 = funder_account(db, "T1")
    bank = Bank(db, running=0)
    # The market's commissions came before the bank's first statement: the books'
    # reserve then is the bank's opening balance.
    bank.running = reserve(db)
    clean: list[str] = []  # bank serials that must match
    faults: dict[str, str] = {}  # what was injected -> the exception type it must raise
    unpaid: set[str] = set()  # payments the bank never shows (a missing line)
    late_order = None
    draws = 0
    while (today := current_business_date(db)) <= LAST_DAY:
        # The bank pays yesterday's payments (all but the one it "loses").
        for p in open_payments(db):
            if p.reference in unpaid:
                continue
            line = bank.debit(p.amount, memo=f"代付 {p.reference}", account=p.payee_account or "")
            clean.append(line.bank_serial)
        if today.day == 8:  # an agent withdraws; the bank never shows it leave
            handle = f"agent:{market.code(5)}"
            held = wallets.request_withdrawal(db, handle, 10_000, "lost")
            unpaid.add(f"YP{held.entry_id:012d}")
            faults["missing debit line"] = "payment_not_debited"
        for n in range(AGENTS - 1):
            if rnd.random() > 0.3:
                continue
            draws += 1
            order = request_drawdown(
                db, market.code(n), rnd.randint(1, 4) * 10_000, 30, f"d{draws}"
            )
            record_notice(
                db,
                kind="funding",
                recorded_by="funder:T1",
                key=f"n{draws}",
                target=order.order_ref,
                amount=order.amount,
                funder="T1",
            )
            if draws == 3:  # paid twice by mistake
                clean.append(
                    bank.credit(order.amount, memo=order.order_ref, account=t1).bank_serial
                )
                twice = bank.credit(order.amount, memo=order.order_ref, account=t1)
                faults[twice.bank_serial] = "duplicate"
            elif draws == 5:  # paid one yuan too much
                over = bank.credit(order.amount + 100, memo=order.order_ref, account=t1)
                faults[over.bank_serial] = "over"
            elif draws == 7:  # never paid: the funder's notice meets no money
                faults["notice never confirmed"] = "notice_unfunded"
            elif draws == 9:  # paid after the order expired
                late_order = order
            else:
                clean.append(
                    bank.credit(order.amount, memo=order.order_ref, account=t1).bank_serial
                )
        if today.day == 12:  # money quoting something nobody knows
            stray = bank.credit(
                88_800, memo="INV-0112 货款", name="某某贸易", account="62284800001"
            )
            faults[stray.bank_serial] = "unknown"
        if late_order is not None and today >= late_order.fund_by + timedelta(days=2):
            late = bank.credit(late_order.amount, memo=late_order.order_ref, account=t1)
            faults[late.bank_serial] = "late"
            late_order = None
        bank.close_day()
        run_eod(db)
    assert draws >= 12 and late_order is None

    for serial in clean:
        assert line_outcome(db, serial) == "matched", serial
    for serial, kind in faults.items():
        if serial.startswith("TB"):
            assert line_outcome(db, serial) == kind, (serial, kind)
    opened = list_exceptions(db)
    assert Counter(e.kind for e in opened) == Counter(faults.values()), opened
    assert {n.status for n in notices(db)} == {"matched", "unfunded"}
    assert sum(n.status == "unfunded" for n in notices(db)) == 1
    # The books' reserve account is where the bank says it is, lines in suspense included.
    assert reserve(db) == bank.running
    assert verify(db).ok
