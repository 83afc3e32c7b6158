"""A freeze by legal order stops money leaving: withdrawals not yet sent to the bank are
cancelled (their money stays in the frozen wallet), one already in a batch file waits
for the bank's answer, and no new loan is made while it stands. A risk freeze keeps
today's rules: it cancels nothing and blocks no drawdown."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bank import open_reserve
from tests.databases import BACKENDS
from tests.loans.story import market_with_lines
from yirong.errors import YirongError
from yirong.loans.drawdowns import request_drawdown
from yirong.payments.batch import make_batches
from yirong.payments.service import open_payments, payments
from yirong.wallets import service as wallets


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_legal_order_cancels_unsent_withdrawals_and_blocks_new_loans(
    backend: str, tmp_path: Path
) -> None:
    market = market_with_lines(backend, tmp_path, 3)
    db = market.db
    open_reserve(db)  # the bank account payments leave from, in batch files
    shop, other = f"agent:{market.code(0)}", f"agent:{market.code(1)}"
    before = wallets.wallet(db, shop).balance
    sent = wallets.request_withdrawal(db, shop, 30_000, "w-sent")
    [batch] = make_batches(db, market_day(db))
    unsent = wallets.request_withdrawal(db, shop, 20_000, "w-unsent")
    risky = wallets.request_withdrawal(db, other, 10_000, "w-other")

    wallets.freeze(db, shop, "legal_order", note="court order 7", actor="op")
    by_hold = {p.withdrawal_id: p for p in payments(db, limit=100)}
    assert by_hold[unsent.entry_id].status == "failed"  # cancelled before it left
    assert "legal order" in (by_hold[unsent.entry_id].note or "")
    assert by_hold[sent.entry_id].status == "instructed"  # in batch, the bank's to answer
    assert by_hold[sent.entry_id].reference in {p.reference for p in open_payments(db)}
    assert batch.payments == 1
    view = wallets.wallet(db, shop)
    assert view.balance == before and view.available == before - 30_000
    with pytest.raises(YirongError) as refused:
        request_drawdown(db, market.code(0), 100_000, 30, "after-order")
    assert refused.value.code == "frozen_by_legal_order"

    # A risk freeze keeps today's rules.
    wallets.freeze(db, other, "risk", note="review", actor="op")
    assert by_hold_status(db, risky.entry_id) == "instructed"
    assert request_drawdown(db, market.code(1), 100_000, 30, "risk-ok").status == "requested"
    # Lifted, loans are possible again.
    wallets.unfreeze(db, shop, "legal_order", note="order lifted", actor="op")
    assert request_drawdown(db, market.code(0), 100_000, 30, "after-lift").status == "requested"


def market_day(db):  # type: ignore[no-untyped-def]
    from yirong.books.service import current_business_date

    return current_business_date(db)


def by_hold_status(db, hold: int) -> str:  # type: ignore[no-untyped-def]
    return next(p.status for p in payments(db, limit=100) if p.withdrawal_id == hold)
