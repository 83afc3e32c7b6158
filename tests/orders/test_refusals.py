"""Bad input on order financing: each refused with its own stable code, and nothing
moved (the wallet, the escrow and the order as they were)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.bank import fund
from tests.orders.market import PHONES, SUPPLIER, SUPPLIER_USCC, build_order_market, ready_order
from yirong.books.service import current_business_date
from yirong.credit.queries import list_lines
from yirong.errors import YirongError
from yirong.loans.lines import close_line
from yirong.orders.financing import (
    approve_financing,
    financings,
    pay_supplier,
    payout_gate,
    request_financing,
)
from yirong.orders.purchase import (
    GoodsLine,
    attach_document,
    enter_order,
    get_order,
    mark_delivered,
    record_change,
    set_invoice,
)
from yirong.orders.suppliers import (
    SupplierInput,
    change_account,
    get_supplier,
    register_supplier,
    set_whitelisted,
)
from yirong.wallets import service as wallets

# A small order: an advance of 100,000 fen leaves the agent 50,000 of its own to hold.
SMALL = (GoodsLine("Phone model A", 1, 150_000),)


def refused(code: str, fn: Any, *args: Any, **kwargs: Any) -> YirongError:
    with pytest.raises(YirongError) as caught:
        fn(*args, **kwargs)
    assert caught.value.code == code, caught.value
    return caught.value


@pytest.fixture(scope="module")
def om(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return build_order_market("sqlite", tmp_path_factory.mktemp("refusals"), agents=3)


def test_an_order_is_entered_once_on_the_whole_platform(om: Any) -> None:
    db = om.db
    delivery = current_business_date(db) + timedelta(days=3)
    first = enter_order(db, om.code(0), SUPPLIER, "PO-X1", PHONES, delivery, "e1")
    # The same key again is the same order; another key, or another agent, is refused.
    assert (
        enter_order(db, om.code(0), SUPPLIER, "PO-X1", PHONES, delivery, "e1").outcome == "exists"
    )
    refused("order_taken", enter_order, db, om.code(0), SUPPLIER, "PO-X1", PHONES, delivery, "e2")
    refused("order_taken", enter_order, db, om.code(1), SUPPLIER, "PO-X1", PHONES, delivery, "e1")
    assert get_order(db, first.reference).total == first.total


def test_bad_orders_are_refused(om: Any) -> None:
    db = om.db
    today = current_business_date(db)
    agent = om.code(0)
    for lines, delivery in (
        ((), today),
        ((GoodsLine("", 1, 100),), today),
        ((GoodsLine("Phones", 0, 100),), today),
        ((GoodsLine("Phones", 1, 100),), today - timedelta(days=1)),
    ):
        refused("order_invalid", enter_order, db, agent, SUPPLIER, "PO-BAD", lines, delivery, "b")
    refused(
        "amount_zero",
        enter_order,
        db,
        agent,
        SUPPLIER,
        "PO-BAD",
        (GoodsLine("P", 1, 0),),
        today,
        "b",
    )
    refused("supplier_not_found", enter_order, db, agent, "NOPE", "PO-BAD", PHONES, today, "b")


def test_an_invoice_backs_one_order(om: Any) -> None:
    db = om.db
    today = current_business_date(db)
    a = ready_order(db, om.code(0), "PO-I1", delivery=today, invoice="INV-ONCE")
    b = enter_order(db, om.code(1), SUPPLIER, "PO-I2", PHONES, today, "i2").reference
    refused("invoice_taken", set_invoice, db, b, "INV-ONCE")
    assert get_order(db, a).invoice_no == "INV-ONCE" and get_order(db, b).invoice_no is None


def test_an_advance_over_the_rate_moves_nothing(om: Any) -> None:
    db = om.db
    agent = om.code(0)
    order = ready_order(db, agent, "PO-R1", delivery=current_business_date(db))
    before = wallets.wallet(db, f"agent:{agent}")
    net = get_order(db, order).net
    error = refused(
        "advance_over_rate", request_financing, db, agent, order, net * 8 // 10 + 1, "r"
    )
    assert error.details["allowed"] == net * 8 // 10
    assert wallets.wallet(db, f"agent:{agent}") == before
    assert [f for f in financings(db, agent_code=agent) if f.order == order] == []


def test_a_cancelled_part_lowers_what_may_be_advanced(om: Any) -> None:
    db = om.db
    agent = om.code(0)
    order = ready_order(db, agent, "PO-D1", delivery=current_business_date(db))
    total = get_order(db, order).total
    record_change(db, order, "cancelled", total // 4, "a quarter cancelled", "c1", by="supplier:X")
    net = total - total // 4
    refused("advance_over_rate", request_financing, db, agent, order, total * 8 // 10, "d1")
    assert request_financing(db, agent, order, net * 8 // 10, "d2").status == "requested"
    refused(
        "order_change_exceeds_order",
        record_change,
        db,
        order,
        "returned",
        net + 1,
        "",
        "c2",
        by="x",
    )
    refused("order_change_invalid", record_change, db, order, "lost", 1, "", "c3", by="x")


def test_no_payout_before_the_gate_passes_and_it_names_what_is_missing(om: Any) -> None:
    db = om.db
    agent = om.code(1)
    today = current_business_date(db)
    bare = enter_order(db, agent, SUPPLIER, "PO-G1", SMALL, today, "g1").reference
    financing = request_financing(db, agent, bare, 100_000, "g1")
    approved = approve_financing(db, "O1", financing.reference)
    # Unconfirmed, undocumented, and the funder's money not yet here.
    assert payout_gate(db, financing.reference) == [
        "order_not_confirmed",
        "document:contract",
        "document:invoice",
        "funder_money_not_arrived",
    ]
    before = wallets.wallet(db, f"agent:{agent}")
    error = refused("payout_gate_failed", pay_supplier, db, financing.reference)
    assert "order_not_confirmed" in error.details["missing"]
    assert wallets.wallet(db, f"agent:{agent}") == before
    assert approved.order_ref is not None
    assert fund(db, "O1", approved.order_ref, 100_000) == "matched"
    assert "funder_money_not_arrived" not in payout_gate(db, financing.reference)


def test_a_supplier_account_never_verified_is_never_paid(om: Any) -> None:
    db = om.db
    agent = om.code(0)
    supplier = register_supplier(
        db, SupplierInput("DIST2", "某分销商", "91350100M000100Y43", "6214830000999999", "招商银行")
    )
    assert not supplier.account_verified
    today = current_business_date(db)
    order = enter_order(db, agent, "DIST2", "PO-U1", SMALL, today, "u1").reference
    financing = request_financing(db, agent, order, 100_000, "u1")
    assert "supplier_account_unverified" in payout_gate(db, financing.reference)
    # A verified supplier that changes its account is unverified again.
    changed = change_account(db, SUPPLIER, "6214830000777777", "招商银行")
    assert not changed.account_verified
    assert change_account(db, SUPPLIER, "6214830000123456", "招商银行").account_verified is False
    # Off the whitelist: its orders cannot be financed at all.
    set_whitelisted(db, "DIST2", False)
    other = enter_order(db, agent, "DIST2", "PO-U2", SMALL, today, "u2").reference
    refused("supplier_not_whitelisted", request_financing, db, agent, other, 100_000, "u2")
    assert get_supplier(db, "DIST2").whitelisted is False


def test_delivered_only_with_its_signed_receipt(om: Any) -> None:
    db = om.db
    order = ready_order(db, om.code(0), "PO-DL", delivery=current_business_date(db))
    refused("delivery_receipt_missing", mark_delivered, db, order, by="supplier:DIST1")
    assert get_order(db, order).delivered_on is None
    # A document is a contract, an invoice or a delivery receipt, and not empty.
    for kind, content in (("photo", b"x"), ("delivery_receipt", b"")):
        refused("document_invalid", attach_document, db, order, kind, "a", "b", content, by="x")
    assert len(get_order(db, order).documents) == 2
    attach_document(
        db, order, "delivery_receipt", "签收单.jpg", "image/jpeg", b"signed", by="agent:x"
    )
    delivered = mark_delivered(db, order, by="supplier:DIST1")
    assert delivered.delivered_on == current_business_date(db)


def test_bad_suppliers_are_refused(om: Any) -> None:
    db = om.db
    good = SupplierInput("DIST9", "某公司", "91110108MA01XXXX0A", "6214830000123450", "招商银行")
    refused("uscc_invalid", register_supplier, db, good)
    refused(
        "supplier_code_taken",
        register_supplier,
        db,
        SupplierInput(SUPPLIER, "x", "91440300MA5F00002D", "62148300001234", "b"),
    )
    refused(
        "supplier_firm_taken",
        register_supplier,
        db,
        SupplierInput("DIST8", "x", SUPPLIER_USCC, "62148300001234", "b"),
    )
    refused(
        "supplier_account_invalid",
        register_supplier,
        db,
        SupplierInput("DIST7", "x", "91440300MA5F00001A", "12ab", "b"),
    )


def test_the_agents_part_must_be_in_the_wallet(om: Any) -> None:
    db = om.db
    agent = om.code(1)
    order = enter_order(
        db,
        agent,
        SUPPLIER,
        "PO-M1",
        (GoodsLine("Phones", 10, 200_000),),
        current_business_date(db),
        "m",
    ).reference
    before = wallets.wallet(db, f"agent:{agent}")
    # 2,000,000 fen of phones, 100,000 advanced: 1,900,000 of the agent's own to hold.
    error = refused("margin_insufficient", request_financing, db, agent, order, 100_000, "m")
    assert error.details["needed"] == 1_900_000 + 10_000
    assert wallets.wallet(db, f"agent:{agent}") == before


def test_no_financing_without_an_order_facility(om: Any) -> None:
    db = om.db
    agent = om.code(2)
    [facility] = [line for line in list_lines(db) if line.agent_code == agent]
    close_line(db, facility.id, reason="closed by the funder")
    order = enter_order(
        db, agent, SUPPLIER, "PO-F1", SMALL, current_business_date(db), "f"
    ).reference
    refused("facility_not_active", request_financing, db, agent, order, 100_000, "f")
