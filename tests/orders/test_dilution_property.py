"""A property of the whole system, on SQLite: whatever an order loses before the
payout (cancellations, short deliveries) or after it (the supplier's refunds through
the bank), the amount financed never exceeds the product's advance rate (80%) of
what remains of the order. The rule is written here by hand (net x 8 // 10) and the
platform's answers are checked against it at every step: a request over it is
refused, a payout over it is held at the gate, and a refund never leaves the
principal above it."""

from __future__ import annotations

import tempfile
from datetime import timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.bank import Bank, fund, line_outcome
from tests.orders.market import SUPPLIER_ACCOUNT, GoodsLine, build_order_market, ready_order
from yirong.books.service import current_business_date
from yirong.errors import YirongError
from yirong.infra.db import Database
from yirong.orders.financing import (
    approve_financing,
    get_financing,
    pay_supplier,
    payout_gate,
    request_financing,
)
from yirong.orders.purchase import get_order, record_change
from yirong.payments.service import payments


def allowed(net: int) -> int:
    return net * 8 // 10  # the product's 80%, rounded down to the fen


def bank_line(db: Database, amount: int, memo: str, *, debit: bool) -> str:
    bank = Bank(db)
    made = (bank.debit if debit else bank.credit)(amount, memo=memo, account=SUPPLIER_ACCOUNT)
    bank.close_day()
    return line_outcome(db, made.bank_serial)


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    total=st.integers(10_000, 1_000_000),
    share=st.integers(50, 105),  # the advance asked for, in % of the allowed maximum
    # Parts of the order, in % of what it is worth at the time.
    cuts_before=st.lists(st.integers(1, 40), max_size=2),
    cut_after_request=st.sampled_from((0, 0, 0, 5, 30)),
    refunds=st.lists(st.integers(1, 70), min_size=1, max_size=3),
)
def test_the_financed_amount_never_exceeds_the_rate_of_what_remains(
    total: int, share: int, cuts_before: list[int], cut_after_request: int, refunds: list[int]
) -> None:
    db = build_order_market("sqlite", Path(tempfile.mkdtemp()), agents=1).db
    try:
        _story(db, total, share, cuts_before, cut_after_request, refunds)
    finally:
        db.dispose()


def _story(
    db: Database,
    total: int,
    share: int,
    cuts_before: list[int],
    cut_after_request: int,
    refunds: list[int],
) -> None:
    agent = "A000000"
    today = current_business_date(db)
    order = ready_order(
        db, agent, "PO-P", delivery=today + timedelta(days=3), goods=(GoodsLine("P", 1, total),)
    )
    net = total
    for n, percent in enumerate(cuts_before):
        cut = net * percent // 100
        if cut:
            record_change(db, order, "cancelled", cut, "", f"c{n}", by="supplier:DIST1")
            net -= cut
    assert get_order(db, order).net == net
    advance = max(1, allowed(total) * share // 100)
    try:
        financing = request_financing(db, agent, order, advance, "f")
    except YirongError as exc:
        assert exc.code == "advance_over_rate"
        assert advance > allowed(net)
        return
    assert advance <= allowed(net)
    approved = approve_financing(db, "O1", financing.reference)
    assert approved.order_ref is not None
    assert fund(db, "O1", approved.order_ref, advance) == "matched"
    late = net * cut_after_request // 100
    if late:  # a short delivery before the supplier is paid
        record_change(db, order, "short_delivery", late, "", "late", by="x")
        net -= late
    missing = payout_gate(db, financing.reference)
    if advance > allowed(net):
        assert "advance_over_rate" in missing
        return
    assert missing == []
    paid = pay_supplier(db, financing.reference).payment
    assert paid is not None
    [payment] = [p for p in payments(db) if p.reference == paid]
    assert payment.amount == net  # the whole order that remains, in one payment
    assert bank_line(db, payment.amount, f"受托支付 {paid}", debit=True) == "matched"
    principal = get_financing(db, financing.reference).principal
    assert principal == advance <= allowed(net)
    left = payment.amount
    for n, percent in enumerate(refunds):
        # The last asks back more than is left to refund, now and then.
        refund = max(1, left * percent // 100) if n < 2 or percent < 60 else left + 1
        outcome = bank_line(db, refund, f"退款 {paid}", debit=False)
        if refund > left:
            assert outcome == "over"  # more than it was paid: nothing moves
        else:
            assert outcome == "matched"
            left -= refund
            net -= refund
        assert get_order(db, order).net == net
        principal = get_financing(db, financing.reference).principal
        assert principal <= allowed(net), (principal, net)
