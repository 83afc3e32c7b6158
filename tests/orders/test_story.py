"""Order financing's whole story on both databases: an order entered, confirmed and
documented; an advance asked for, approved, funded from the bank's statement, paid
to the supplier with the agent's part in one payment, and repaid; and a second story
that defaults: frozen, swept, the margin applied to the debt. Every figure below is
worked out by hand from the terms (80% advanced, 10% margin on the advance, 12% a
year on a 360-day basis, penalty 1.5x)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.bank import Bank, fund, funder_account, line_outcome
from tests.databases import BACKENDS
from tests.orders.market import (
    PHONES_TOTAL,
    SUPPLIER_ACCOUNT,
    GoodsLine,
    build_order_market,
    ready_order,
)
from yirong.books.service import ORDER_ESCROW, RESERVE, current_business_date
from yirong.eod.service import run_eod
from yirong.errors import YirongError
from yirong.infra.db import Database, Tx
from yirong.ledger import service as ledger
from yirong.ledger.verify import verify
from yirong.loans.drawdowns import preview_drawdown, request_drawdown
from yirong.loans.repayments import repay
from yirong.orders.book import concentration, financing_detail
from yirong.orders.financing import (
    approve_financing,
    cancel_financing,
    get_financing,
    pay_supplier,
    payout_gate,
    request_financing,
)
from yirong.orders.purchase import get_order, record_change
from yirong.orders.refunds import receive_refund_in
from yirong.payments.batch import batch_content, batches, read_batch
from yirong.payments.service import payment_row
from yirong.payments.tables import Payment
from yirong.wallets import service as wallets

ADVANCE = PHONES_TOTAL * 8 // 10  # 800,000 fen: the most at 80%
OWN_PART = PHONES_TOTAL - ADVANCE  # 200,000
MARGIN = ADVANCE // 10  # 80,000
WALLET = 1_000_000  # agent 0's November commissions


def available(db: Database, agent: str) -> int:
    return wallets.wallet(db, f"agent:{agent}").available


def escrow(db: Database) -> int:
    return db.run(
        lambda tx: ledger.balance_of(tx, ledger.account_by_code(tx, ORDER_ESCROW)).balance
    )


def supplier_paid(db: Database, payment_ref: str) -> str:
    """The bank's debit line for our payout to the supplier, quoting its reference."""
    amount = db.run(
        lambda tx: tx.conn.scalar(select(Payment.amount).where(Payment.reference == payment_ref))
    )
    bank = Bank(db)
    line = bank.debit(amount, memo=f"受托支付 {payment_ref}", account=SUPPLIER_ACCOUNT)
    bank.close_day()
    return line_outcome(db, line.bank_serial)


def batched(db: Database, payment_ref: str) -> bool:
    """The payment is in a payment file the platform wrote for the bank."""
    return any(
        line.payment_ref == payment_ref
        for b in batches(db)
        for line in read_batch(batch_content(db, b.reference))[1]
    )


def refused(code: str, fn, *args, **kwargs) -> YirongError:  # type: ignore[no-untyped-def]
    with pytest.raises(YirongError) as caught:
        fn(*args, **kwargs)
    assert caught.value.code == code, caught.value
    return caught.value


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_order_financed_paid_to_its_supplier_and_repaid(backend: str, tmp_path: Path) -> None:
    om = build_order_market(backend, tmp_path)
    db, agent = om.db, om.code(0)
    today = current_business_date(db)
    order = ready_order(db, agent, "PO-1001", delivery=today + timedelta(days=10))

    # More than 80% of the order is refused, and nothing is held.
    refused("advance_over_rate", request_financing, db, agent, order, ADVANCE + 1, "f0")
    assert available(db, agent) == WALLET
    financing = request_financing(db, agent, order, ADVANCE, "f1")
    assert (financing.own_part, financing.margin) == (OWN_PART, MARGIN)
    assert financing.term_days == 10 + 30  # to delivery, then thirty days to sell
    # The agent's part and the margin are held in the wallet; nothing has moved yet.
    assert available(db, agent) == WALLET - OWN_PART - MARGIN
    assert request_financing(db, agent, order, ADVANCE, "f1").outcome == "exists"

    # No payout before the funder approves, nor before its money came.
    refused("financing_not_open", pay_supplier, db, financing.reference)
    approved = approve_financing(db, "O1", financing.reference)
    assert approved.order_ref is not None and approved.loan_status == "requested"
    gate = refused("payout_gate_failed", pay_supplier, db, financing.reference)
    assert gate.details["missing"] == ["funder_money_not_arrived"]

    # The funder's money arrives on the statement quoting the order: it waits in
    # escrow, not in the wallet.
    assert fund(db, "O1", approved.order_ref, ADVANCE) == "matched"
    assert get_financing(db, financing.reference).loan_status == "escrowed"
    assert available(db, agent) == WALLET - OWN_PART - MARGIN
    assert escrow(db) == ADVANCE
    assert payout_gate(db, financing.reference) == []

    paying = pay_supplier(db, financing.reference)
    assert paying.status == "paying" and paying.payment is not None
    payment = db.run(
        lambda tx: tx.session.scalars(
            select(Payment).where(Payment.reference == paying.payment)
        ).one()
    )
    # One payment of the whole order to the supplier's verified account.
    assert (payment.amount, payment.payee_account) == (PHONES_TOTAL, SUPPLIER_ACCOUNT)
    assert pay_supplier(db, financing.reference).outcome == "exists"
    # The hold is posted: the agent's part and margin left the wallet for escrow.
    assert wallets.wallet(db, f"agent:{agent}").balance == WALLET - OWN_PART - MARGIN
    # Until the bank shows the payment, no interest runs: the loan is not lent yet.
    assert get_financing(db, financing.reference).loan_status == "escrowed"

    assert supplier_paid(db, paying.payment) == "matched"
    paid = get_financing(db, financing.reference)
    lent_on = current_business_date(db)
    assert (paid.status, paid.loan_status, paid.principal) == ("paid", "credited", ADVANCE)
    assert paid.paid_on == lent_on and paid.due_date == lent_on + timedelta(days=40)
    assert escrow(db) == MARGIN  # the margin stays until the advance is repaid

    # What the funder sees: the order whole, the payout and its receipt, its book.
    detail = financing_detail(db, financing.reference, funder_code="O1")
    assert detail.order.status == "confirmed" and detail.order.confirmed_by == "supplier:DIST1"
    assert sorted(d.kind for d in detail.order.documents) == ["contract", "invoice"]
    assert detail.payout is not None and detail.payout.settled_on == lent_on
    assert detail.payout.bank_line_id is not None  # the statement line that shows it paid
    assert detail.owed_today == ADVANCE  # today's own interest is not yet due
    refused("financing_not_found", financing_detail, db, financing.reference, funder_code="T1")
    book = concentration(db, "O1")
    assert [(e.code, e.financings, e.outstanding) for e in book.by_supplier] == [
        ("DIST1", 1, ADVANCE)
    ]
    assert [(e.code, e.outstanding) for e in book.by_agent] == [(agent, ADVANCE)]

    # Thirty days on, the agent repays everything: 30 days at 12%/360 on 800,000.
    for _ in range(30):
        run_eod(db)
    interest = 8_000
    bank = Bank(db)
    code = wallets.wallet(db, f"agent:{agent}").pay_in_code
    bank.credit(ADVANCE + interest, memo=f"充值 YT{code}", account="6222020000000000001")
    bank.close_day()
    before = available(db, agent)
    paid_back = repay(db, agent, None, "repay-1")
    # Agent 0 also holds T1's line, with nothing drawn: all of it is the advance's.
    assert (paid_back.principal, paid_back.interest) == (ADVANCE, interest)
    assert available(db, agent) == before - ADVANCE - interest
    # The end of day gives the margin back.
    run_eod(db)
    settled = get_financing(db, financing.reference)
    assert settled.status == "settled" and settled.loan_status == "repaid"
    assert available(db, agent) == before - ADVANCE - interest + MARGIN
    assert escrow(db) == 0
    assert verify(db).ok


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_defaulted_order_freezes_sweeps_and_takes_its_margin(
    backend: str, tmp_path: Path
) -> None:
    om = build_order_market(backend, tmp_path)
    db, agent = om.db, om.code(1)  # agent 1: 1,100,000 fen of commissions and facility
    today = current_business_date(db)
    goods = (GoodsLine("Phone model C", 5, 2_750_00),)  # 1,375,000 fen
    order = ready_order(db, agent, "PO-2001", delivery=today, goods=goods)
    advance, own_part, margin = 1_100_000, 275_000, 110_000
    financing = request_financing(db, agent, order, advance, "f1", sell_through_days=7)
    assert (financing.own_part, financing.margin) == (own_part, margin)
    assert financing.term_days == 7
    approved = approve_financing(db, "O1", financing.reference)
    assert approved.order_ref is not None
    assert fund(db, "O1", approved.order_ref, advance) == "matched"
    paying = pay_supplier(db, financing.reference)
    assert paying.payment is not None
    # The evening's payment file carries it; the bank pays it the next morning.
    run_eod(db)
    assert batched(db, paying.payment)
    assert get_financing(db, financing.reference).loan_status == "escrowed"
    assert supplier_paid(db, paying.payment) == "matched"
    lent_on = current_business_date(db)
    left = 1_100_000 - own_part - margin  # 715,000 fen stays in the wallet
    assert available(db, agent) == left

    # Due seven days on, no grace: the end of day of the due date finds it unpaid.
    while current_business_date(db) <= lent_on + timedelta(days=7):
        run_eod(db)
    view = get_financing(db, financing.reference)
    assert view.loan_status == "overdue" and view.status == "defaulted"
    w = wallets.wallet(db, f"agent:{agent}")
    assert "overdue" in w.freezes
    # The wallet's 715,000 and the 110,000 margin were swept into the debt: seven days'
    # interest (1,100,000 x 12% x 7 / 360 = 2,566.67 -> 2,567 fen) first, then principal.
    interest = 2_567
    assert w.available == 0
    assert view.principal == advance - (left + margin - interest) == 277_567
    assert escrow(db) == 0
    # A withdrawal is refused while frozen; a new order is refused on either product.
    refused("loan_overdue", request_financing, db, agent, order, 1, "f2")
    assert verify(db).ok


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_cancelled_financing_returns_the_funders_money(backend: str, tmp_path: Path) -> None:
    om = build_order_market(backend, tmp_path)
    db, agent = om.db, om.code(0)
    order = ready_order(db, agent, "PO-3001", delivery=current_business_date(db))
    financing = request_financing(db, agent, order, ADVANCE, "f1")
    approved = approve_financing(db, "O1", financing.reference)
    assert approved.order_ref is not None
    assert fund(db, "O1", approved.order_ref, ADVANCE) == "matched"
    cancelled = cancel_financing(db, agent, financing.reference)
    assert (cancelled.status, cancelled.loan_status) == ("cancelled", "returned")
    assert available(db, agent) == WALLET  # the hold is released
    assert escrow(db) == 0
    # The funder's money is in its payment account, for its payout to take back.
    assert wallets.wallet(db, "funder:O1").available == ADVANCE
    assert funder_account(db, "O1")
    # The order is free again: it may be financed anew.
    again = request_financing(db, agent, order, ADVANCE // 2, "f2")
    assert again.status == "requested"
    assert verify(db).ok


def refund(db: Database, payment_ref: str, amount: int) -> str:
    """The supplier's refund, quoting our payout to it, on today's statement."""
    bank = Bank(db)
    line = bank.credit(amount, memo=f"退货退款 {payment_ref}", account=SUPPLIER_ACCOUNT)
    bank.close_day()
    return line_outcome(db, line.bank_serial)


@pytest.mark.parametrize("backend", BACKENDS)
def test_goods_returned_after_the_payout_repay_the_funder_first(
    backend: str, tmp_path: Path
) -> None:
    om = build_order_market(backend, tmp_path)
    db, agent = om.db, om.code(0)
    order = ready_order(db, agent, "PO-4001", delivery=current_business_date(db))
    financing = request_financing(db, agent, order, ADVANCE, "f1")
    approved = approve_financing(db, "O1", financing.reference)
    assert approved.order_ref is not None
    assert fund(db, "O1", approved.order_ref, ADVANCE) == "matched"
    paying = pay_supplier(db, financing.reference)
    assert paying.payment is not None
    assert supplier_paid(db, paying.payment) == "matched"
    held = WALLET - OWN_PART - MARGIN
    # Once paid, a change is the supplier's refund, not a word.
    refused("order_change_by_refund", record_change, db, order, "returned", 1, "", "c", by="x")

    # A day on (a day's interest owed: 800,000 x 12% / 360 = 266.67 -> 267 fen),
    # 3,000.00 of phones go back: the refund repays 3,000.00 of principal first (the
    # interest stays owed), and the order is worth 7,000.00.
    run_eod(db)
    interest = 267
    assert refund(db, paying.payment, 300_000) == "matched"
    after = get_financing(db, financing.reference)
    assert (after.principal, after.refunded) == (ADVANCE - 300_000, 300_000)
    assert financing_detail(db, financing.reference).owed_today == ADVANCE - 300_000 + interest
    assert get_order(db, order).net == PHONES_TOTAL - 300_000
    assert after.principal <= (PHONES_TOTAL - 300_000) * 8 // 10  # within 80% of what remains
    assert wallets.wallet(db, "funder:O1").available == 300_000
    # More than the payout has left to refund is an exception, and moves nothing; the
    # service itself refuses it too, should anything but the matcher ask.
    assert refund(db, paying.payment, PHONES_TOTAL - 300_000 + 1) == "over"

    def too_much(tx: Tx) -> int:
        payment = payment_row(tx, reference=paying.payment)
        return receive_refund_in(tx, payment, 700_001, key="x", bank_account=RESERVE)

    refused("refund_exceeds_paid", db.run, too_much)
    assert get_financing(db, financing.reference).principal == ADVANCE - 300_000
    # The rest comes back: 5,000.00 and the day's interest repay the loan, what is
    # left is the agent's.
    assert refund(db, paying.payment, PHONES_TOTAL - 300_000) == "matched"
    done = get_financing(db, financing.reference)
    assert (done.principal, done.loan_status) == (0, "repaid")
    to_agent = (PHONES_TOTAL - 300_000) - (ADVANCE - 300_000) - interest
    assert available(db, agent) == held + to_agent
    run_eod(db)  # the margin goes back
    assert available(db, agent) == held + to_agent + MARGIN
    assert get_order(db, order).status == "cancelled"  # nothing of it remains
    assert escrow(db) == 0
    assert verify(db).ok


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_default_on_an_order_blocks_the_line_too(backend: str, tmp_path: Path) -> None:
    """Agent 0 holds T1's line and O1's order facility: its overdue advance refuses a
    drawdown on the line, and its line's drawdown would refuse a new advance alike."""
    om = build_order_market(backend, tmp_path)
    db, agent = om.db, om.code(0)
    assert preview_drawdown(db, agent, 100_000, 30).principal == 100_000  # the line lends
    order = ready_order(db, agent, "PO-5001", delivery=current_business_date(db))
    financing = request_financing(db, agent, order, ADVANCE, "f1", sell_through_days=7)
    approved = approve_financing(db, "O1", financing.reference)
    assert approved.order_ref is not None
    assert fund(db, "O1", approved.order_ref, ADVANCE) == "matched"
    paying = pay_supplier(db, financing.reference)
    assert paying.payment is not None
    assert supplier_paid(db, paying.payment) == "matched"
    wallets.pay_carrier(db, agent, available(db, agent), "stock")  # spent on stock
    lent_on = current_business_date(db)
    while current_business_date(db) <= lent_on + timedelta(days=7):
        run_eod(db)
    assert get_financing(db, financing.reference).loan_status == "overdue"
    refused("loan_overdue", request_drawdown, db, agent, 100_000, 30, "d1")
    refused("loan_overdue", preview_drawdown, db, agent, 100_000, 30)
    assert verify(db).ok


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_payout_the_bank_sends_back_is_paid_again(backend: str, tmp_path: Path) -> None:
    om = build_order_market(backend, tmp_path)
    db, agent = om.db, om.code(0)
    order = ready_order(db, agent, "PO-6001", delivery=current_business_date(db))
    financing = request_financing(db, agent, order, ADVANCE, "f1")
    approved = approve_financing(db, "O1", financing.reference)
    assert approved.order_ref is not None
    assert fund(db, "O1", approved.order_ref, ADVANCE) == "matched"
    first = pay_supplier(db, financing.reference).payment
    assert first is not None
    # The supplier's bank returns it before it was ever debited: the money is back in
    # escrow and the financing waits to be paid again, its gate checked again.
    assert refund(db, first, PHONES_TOTAL) == "matched"
    back = get_financing(db, financing.reference)
    assert (back.status, back.payment, back.loan_status) == ("approved", None, "escrowed")
    assert escrow(db) == ADVANCE + OWN_PART + MARGIN
    second = pay_supplier(db, financing.reference).payment
    assert second is not None and second != first
    assert supplier_paid(db, second) == "matched"
    assert get_financing(db, financing.reference).status == "paid"
    assert escrow(db) == MARGIN
    assert verify(db).ok
