"""Order financing (订单融资) over HTTP, on both databases: an operator registers and
verifies a supplier and issues its system an API key; the agent enters an order; the
supplier's system, with that key, confirms it, gives the invoice number and attaches
the invoice; the agent attaches the contract and asks for the advance; the funder's
system approves; the payout gate names the funder's money as the one thing missing;
the money arrives on the bank's statement, the operator triggers the payout, the
bank's statement shows the supplier paid, and the funder reads the financing whole,
downloads a document with its SHA-256 and reads its concentration.

Then who reaches what: each party only its own orders and financings, another's
answering exactly as a missing one; a supplier only its orders, no funder's route,
no sign-in; money and records only under an Idempotency-Key.

The market and the first supplier (DIST1) are made through the services
(tests/orders/market.py); everything after goes through HTTP, but the bank, whose
statements are imported as they come."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.client import Api, Caller, problem_code
from tests.bank import Bank, fund, line_outcome
from tests.credit.market import lender
from tests.databases import BACKENDS
from tests.orders.market import PHONES_TOTAL, build_order_market
from yirong.access import secrets
from yirong.access import service as access
from yirong.access.tables import User
from yirong.books.service import current_business_date
from yirong.demo.identities import firm
from yirong.errors import YirongError
from yirong.funders.service import register_funder
from yirong.infra.db import Database
from yirong.orders.suppliers import SupplierInput, register_supplier
from yirong.orders.views import SHA256_HEADER

V1 = "/api/v1"
SUPPLIER = "SUP2"  # registered over HTTP in the story
SUPPLIER_ACCOUNT = "6225880000765432"
ADVANCE = PHONES_TOTAL * 8 // 10  # the most at O1's 80%
OWN_PART = PHONES_TOTAL - ADVANCE
MARGIN = ADVANCE // 10
CONTRACT = b"%PDF-1.4 contract for PO-7001, signed by both parties"
INVOICE = b"%PDF-1.4 invoice INV-7001"
PHONES = [
    {"description": "Phone model A", "quantity": 4, "unit_price": 1_500_00},
    {"description": "Phone model B", "quantity": 2, "unit_price": 2_000_00},
]


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def refused(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert (response.status_code, problem_code(response)) == (status, code), response.text
    body: dict[str, Any] = response.json()
    return body


def as_form(content: bytes, filename: str) -> tuple[bytes, dict[str, str]]:
    """A multipart form with the file in its ``file`` field: the body and its type."""
    request = httpx.Request("POST", "http://127.0.0.1", files={"file": (filename, content)})
    return request.read(), {"Content-Type": request.headers["Content-Type"]}


def attach(
    caller: Caller, order: str, kind: str, content: bytes, filename: str, *, form: bool = False
) -> httpx.Response:
    path = f"{V1}/orders/{order}/documents"
    body, headers = (
        as_form(content, filename) if form else (content, {"Content-Type": "application/pdf"})
    )
    return caller.post(
        path + ("/form" if form else ""),
        key="auto",
        params={"kind": kind, "filename": filename},
        content=body,
        headers=headers,
    )


@dataclass
class Cast:
    db: Database
    api: Api
    ops: Caller
    agent: Caller  # agent 0: O1's order facility
    other_agent: Caller  # agent 1: O1's too
    funder: Caller  # O1's system
    other_funder: Caller  # T1's staff: lends to agent 0 on its line, not on orders
    supplier: Caller  # SUP2's system (its key issued over HTTP)
    other_supplier: Caller  # DIST1's system
    agent_code: str


def cast(backend: str, tmp_path: Path) -> Cast:
    om = build_order_market(backend, tmp_path)
    db = om.db
    api = Api(db)
    ops = api.sign_in("operator", "ops")
    ok(
        ops.post(
            f"{V1}/suppliers",
            {
                "code": SUPPLIER,
                "name": "广州某数码贸易有限公司",
                "uscc": firm(700).uscc,
                "bank_account": SUPPLIER_ACCOUNT,
                "bank_name": "中国银行广州分行",
            },
            key="sup2",
        ),
        201,
    )
    issued = ok(ops.post(f"{V1}/suppliers/{SUPPLIER}/api-keys", {"label": "SUP2 ERP"}), 201)
    supplier = Caller(
        api.client,
        {"Authorization": f"Bearer {issued['key']}"},
        f"supplier:{SUPPLIER}",
        signing_secret=issued["signing_secret"],
    )
    return Cast(
        db,
        api,
        ops,
        api.sign_in("agent", om.code(0)),
        api.sign_in("agent", om.code(1)),
        api.funder_system("O1"),
        api.sign_in("funder", "T1"),
        supplier,
        api.supplier_system("DIST1"),
        om.code(0),
    )


def enter_order(c: Cast, order_no: str, *, days: int = 10) -> dict[str, Any]:
    delivery = current_business_date(c.db) + timedelta(days=days)
    return ok(
        c.agent.post(
            f"{V1}/agents/{c.agent_code}/orders",
            {
                "supplier": SUPPLIER,
                "order_no": order_no,
                "lines": PHONES,
                "expected_delivery": str(delivery),
            },
            key=f"enter-{order_no}",
        ),
        201,
    )


def supplier_paid(db: Database, payment: dict[str, Any]) -> str:
    """The bank's debit line for the payout, quoting its reference, on a statement."""
    bank = Bank(db)
    line = bank.debit(
        payment["amount"], memo=f"受托支付 {payment['reference']}", account=SUPPLIER_ACCOUNT
    )
    bank.close_day()
    return line_outcome(db, line.bank_serial)


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_order_is_financed_and_its_supplier_paid_over_http(backend: str, tmp_path: Path) -> None:
    c = cast(backend, tmp_path)
    ops, agent, funder, supplier = c.ops, c.agent, c.funder, c.supplier

    # The supplier registered over HTTP waits for its account to be verified; a
    # repeat of the registration under its key is the first answer, nothing new.
    assert ok(ops.get(f"{V1}/suppliers/{SUPPLIER}"))["account_verified_on"] is None
    again = ops.post(
        f"{V1}/suppliers",
        {
            "code": SUPPLIER,
            "name": "广州某数码贸易有限公司",
            "uscc": firm(700).uscc,
            "bank_account": SUPPLIER_ACCOUNT,
            "bank_name": "中国银行广州分行",
        },
        key="sup2",
    )
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    verified = ok(ops.post(f"{V1}/suppliers/{SUPPLIER}/verify-account"))
    assert verified["account_verified_on"] == str(current_business_date(c.db))
    assert (
        ok(ops.put(f"{V1}/suppliers/{SUPPLIER}/whitelist", {"whitelisted": False}))["whitelisted"]
        is False
    )
    ok(ops.put(f"{V1}/suppliers/{SUPPLIER}/whitelist", {"whitelisted": True}))
    assert [s["code"] for s in ok(ops.get(f"{V1}/suppliers"))] == ["DIST1", SUPPLIER]
    # The supplier's system knows who it is, and reads itself.
    assert ok(supplier.get(f"{V1}/me"))["handle"] == f"supplier:{SUPPLIER}"
    assert ok(supplier.get(f"{V1}/suppliers/{SUPPLIER}"))["bank_account"] == SUPPLIER_ACCOUNT

    # The agent enters the order; its supplier confirms it, gives the invoice number
    # and attaches the invoice (signed, as a system's recording call is).
    order = enter_order(c, "PO-7001")
    ref = order["reference"]
    assert (order["status"], order["total"], order["supplier"]) == (
        "entered",
        PHONES_TOTAL,
        SUPPLIER,
    )
    confirmed = ok(supplier.post(f"{V1}/orders/{ref}/confirm"))
    assert (confirmed["status"], confirmed["confirmed_by"]) == ("confirmed", "supplier:SUP2")
    assert (
        ok(supplier.put(f"{V1}/orders/{ref}/invoice", {"invoice_no": "INV-7001"}))["invoice_no"]
        == "INV-7001"
    )
    invoice = ok(attach(supplier, ref, "invoice", INVOICE, "发票-7001.pdf"), 201)
    assert invoice["sha256"] == hashlib.sha256(INVOICE).hexdigest()
    assert invoice["uploaded_by"] == "supplier:SUP2"
    contract = ok(attach(agent, ref, "contract", CONTRACT, "contract.pdf", form=True), 201)
    assert (contract["kind"], contract["size"]) == ("contract", len(CONTRACT))
    listed = ok(agent.get(f"{V1}/agents/{c.agent_code}/orders"))["items"]
    assert [(o["reference"], len(o["documents"])) for o in listed] == [(ref, 2)]

    # The agent asks for more than 80%: refused; for 80%: its part and margin held.
    over = {"advance": ADVANCE + 1}
    refused(agent.post(f"{V1}/orders/{ref}/financings", over, key="auto"), 422, "advance_over_rate")
    asked = ok(agent.post(f"{V1}/orders/{ref}/financings", {"advance": ADVANCE}, key="f1"), 201)
    assert (asked["status"], asked["own_part"], asked["margin"], asked["term_days"]) == (
        "requested",
        OWN_PART,
        MARGIN,
        10 + 30,
    )
    financing = asked["reference"]

    # The funder's system sees the request, approves it: the drawdown is ordered.
    assert [f["reference"] for f in ok(funder.get(f"{V1}/order-financings"))["items"]] == [
        financing
    ]
    approved = ok(funder.post(f"{V1}/order-financings/{financing}/approve"))
    assert approved["status"] == "approved" and approved["order_ref"]
    # Nothing is paid on anybody's word: the funder's money has not arrived.
    gate = ok(ops.get(f"{V1}/order-financings/{financing}/payout-gate"))
    assert gate == {"financing": financing, "ready": False, "missing": ["funder_money_not_arrived"]}
    early = ops.post(f"{V1}/order-financings/{financing}/payout", key="payout-early")
    assert refused(early, 409, "payout_gate_failed")["missing"] == ["funder_money_not_arrived"]

    # The bank's statement shows the funder's transfer quoting the order: matched, and
    # the gate opens; the operator triggers the payout, which only instructs it.
    assert fund(c.db, "O1", approved["order_ref"], ADVANCE) == "matched"
    assert ok(ops.get(f"{V1}/order-financings/{financing}/payout-gate"))["ready"] is True
    paying = ok(ops.post(f"{V1}/order-financings/{financing}/payout", key="payout"))
    assert paying["status"] == "paying" and paying["payment"].startswith("YP")
    replay = ops.post(f"{V1}/order-financings/{financing}/payout", key="payout")
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json()["payment"] == paying["payment"]
    detail = ok(funder.get(f"{V1}/order-financings/{financing}"))
    payout = detail["payout"]
    assert (payout["amount"], payout["payee_account"], payout["status"]) == (
        PHONES_TOTAL,
        SUPPLIER_ACCOUNT,
        "instructed",
    )
    assert detail["financing"]["loan_status"] == "escrowed"  # not lent before the bank says

    # The bank shows the supplier paid: the loan runs from today.
    assert supplier_paid(c.db, payout) == "matched"
    detail = ok(funder.get(f"{V1}/order-financings/{financing}"))
    today = str(current_business_date(c.db))
    assert (detail["financing"]["status"], detail["financing"]["loan_status"]) == (
        "paid",
        "credited",
    )
    assert detail["payout"]["settled_on"] == today and detail["payout"]["bank_line_id"]
    assert detail["owed_today"] == ADVANCE
    assert detail["order"]["confirmed_by"] == "supplier:SUP2"
    assert sorted(d["kind"] for d in detail["order"]["documents"]) == ["contract", "invoice"]

    # The funder downloads the invoice as it was uploaded, its SHA-256 alongside.
    got = funder.get(f"{V1}/order-financings/{financing}/documents/{invoice['reference']}")
    assert got.status_code == 200, got.text
    assert got.content == INVOICE and got.headers[SHA256_HEADER] == invoice["sha256"]
    assert hashlib.sha256(got.content).hexdigest() == got.headers[SHA256_HEADER]
    assert got.headers["content-type"] == "application/pdf"
    assert "filename*=UTF-8''%E5%8F%91%E7%A5%A8-7001.pdf" in got.headers["content-disposition"]

    # Its book: one supplier, one agent, the advance outstanding.
    book = ok(funder.get(f"{V1}/funders/O1/order-concentration"))
    assert [(e["code"], e["financings"], e["outstanding"]) for e in book["by_supplier"]] == [
        (SUPPLIER, 1, ADVANCE)
    ]
    assert [(e["code"], e["outstanding"]) for e in book["by_agent"]] == [(c.agent_code, ADVANCE)]

    # The goods arrive: the receipt first, then the supplier says so. A change now is
    # the supplier's refund's to record, through the bank.
    refused(supplier.post(f"{V1}/orders/{ref}/delivered"), 409, "delivery_receipt_missing")
    ok(attach(supplier, ref, "delivery_receipt", b"%PDF receipt 7001", "receipt.pdf"), 201)
    assert ok(supplier.post(f"{V1}/orders/{ref}/delivered"))["delivered_on"] == today
    change = {"kind": "returned", "amount": 1_500_00, "note": "one phone back"}
    late = supplier.post(f"{V1}/orders/{ref}/changes", change, key="auto")
    refused(late, 409, "order_change_by_refund")


@pytest.mark.parametrize("backend", BACKENDS)
def test_each_party_reaches_only_its_own_orders_and_financings(
    backend: str, tmp_path: Path
) -> None:
    c = cast(backend, tmp_path)
    ok(c.ops.post(f"{V1}/suppliers/{SUPPLIER}/verify-account"))
    order = enter_order(c, "PO-8001")
    ref = order["reference"]

    # Another agent: A's order is as missing as one that never was.
    missing = refused(c.other_agent.get(f"{V1}/orders/{ref}"), 404, "order_not_found")
    nowhere = refused(c.other_agent.get(f"{V1}/orders/po_00000000000000"), 404, "order_not_found")
    assert {k: v for k, v in missing.items() if k not in ("instance", "request_id", "order")} == {
        k: v for k, v in nowhere.items() if k not in ("instance", "request_id", "order")
    }
    other_code = c.other_agent.handle.split(":")[1]
    refused(c.other_agent.get(f"{V1}/agents/{c.agent_code}/orders"), 404, "agent_not_found")
    asked_by_other = c.other_agent.post(
        f"{V1}/orders/{ref}/financings", {"advance": 1_000}, key="auto"
    )
    refused(asked_by_other, 404, "order_not_found")
    assert ok(c.other_agent.get(f"{V1}/agents/{other_code}/orders"))["items"] == []

    # Another supplier may neither confirm nor read nor document the order.
    refused(c.other_supplier.post(f"{V1}/orders/{ref}/confirm"), 404, "order_not_found")
    refused(c.other_supplier.get(f"{V1}/orders/{ref}"), 404, "order_not_found")
    refused(
        attach(c.other_supplier, ref, "invoice", b"%PDF forged", "forged.pdf"),
        404,
        "order_not_found",
    )
    refused(c.other_supplier.get(f"{V1}/suppliers/{SUPPLIER}"), 404, "supplier_not_found")
    assert ok(c.agent.get(f"{V1}/orders/{ref}"))["status"] == "entered"  # nothing changed
    assert ok(c.agent.get(f"{V1}/orders/{ref}"))["documents"] == []

    # Its own supplier may; its recording calls are signed like a funder system's.
    ok(c.supplier.post(f"{V1}/orders/{ref}/confirm"))
    ok(c.supplier.put(f"{V1}/orders/{ref}/invoice", {"invoice_no": "INV-8001"}))
    unsigned = c.api.client.post(
        f"{V1}/orders/{ref}/changes",
        json={"kind": "short_delivery", "amount": 100},
        headers={**c.supplier.headers, "Idempotency-Key": "unsigned"},
    )
    refused(unsigned, 401, "signature_missing")
    for kind, content in (("contract", CONTRACT), ("invoice", INVOICE)):
        ok(attach(c.supplier, ref, kind, content, f"{kind}.pdf"), 201)
    document = ok(c.supplier.get(f"{V1}/orders/{ref}"))["documents"][0]["reference"]
    mine = c.supplier.get(f"{V1}/orders/{ref}/documents/{document}")
    assert mine.status_code == 200 and mine.content == CONTRACT
    theirs = c.other_supplier.get(f"{V1}/orders/{ref}/documents/{document}")
    refused(theirs, 404, "order_not_found")

    # A supplier is no funder, and sees no agent's or funder's records.
    financing = ok(
        c.agent.post(f"{V1}/orders/{ref}/financings", {"advance": ADVANCE}, key="f1"), 201
    )["reference"]
    refused(c.supplier.post(f"{V1}/order-financings/{financing}/approve"), 403, "access_denied")
    for path in ("/order-financings", "/drawdowns", f"/wallets/agent:{c.agent_code}"):
        refused(c.supplier.get(V1 + path), 403, "access_denied")
    refused(c.supplier.get(f"{V1}/funders/O1/order-concentration"), 403, "access_denied")

    # A funder sees the financings asked of it only: T1 lends agent 0 on its line, not
    # on this order.
    refused(c.other_funder.get(f"{V1}/order-financings/{financing}"), 404, "financing_not_found")
    assert ok(c.other_funder.get(f"{V1}/order-financings"))["items"] == []
    refused(
        c.other_funder.get(f"{V1}/order-financings/{financing}/documents/{document}"),
        404,
        "financing_not_found",
    )
    for caller, method, path in (
        (c.other_funder, "post", f"/order-financings/{financing}/approve"),
        (c.other_agent, "get", f"/order-financings/{financing}"),
        (c.other_agent, "post", f"/order-financings/{financing}/cancel"),
    ):
        refused(getattr(caller, method)(V1 + path), 404, "financing_not_found")
    refused(c.other_funder.get(f"{V1}/funders/O1/order-concentration"), 404, "funder_not_found")
    # Its own funder downloads the order's documents while the request stands; not
    # once it turned the request down.
    own = c.funder.get(f"{V1}/order-financings/{financing}/documents/{document}")
    assert own.status_code == 200 and own.content == CONTRACT
    turned_down = ok(
        c.funder.post(f"{V1}/order-financings/{financing}/reject", {"reason": "too concentrated"})
    )
    assert (turned_down["status"], turned_down["reason"]) == ("rejected", "too concentrated")
    again = c.funder.get(f"{V1}/order-financings/{financing}/documents/{document}")
    refused(again, 409, "financing_not_open")

    # What records an order or moves money needs an Idempotency-Key.
    body = {
        "supplier": SUPPLIER,
        "order_no": "PO-8002",
        "lines": PHONES,
        "expected_delivery": str(current_business_date(c.db)),
    }
    no_key = c.agent.post(f"{V1}/agents/{c.agent_code}/orders", body)
    refused(no_key, 428, "idempotency_key_required")
    for unkeyed in (
        c.ops.post(f"{V1}/order-financings/{financing}/payout"),
        c.agent.post(f"{V1}/orders/{ref}/financings", {"advance": ADVANCE}),
        c.supplier.post(f"{V1}/orders/{ref}/changes", {"kind": "returned", "amount": 100}),
    ):
        refused(unkeyed, 428, "idempotency_key_required")
    orders = ok(c.agent.get(f"{V1}/agents/{c.agent_code}/orders"))["items"]
    assert [(o["order_no"], o["reduced"]) for o in orders] == [("PO-8001", 0)]

    # The whole value taken off cancels an order: nothing more applies to it.
    cancelled = enter_order(c, "PO-8003")["reference"]
    whole = {"kind": "cancelled", "amount": PHONES_TOTAL, "note": "the buyer withdrew"}
    gone = ok(c.supplier.post(f"{V1}/orders/{cancelled}/changes", whole, key="auto"), 201)
    assert (gone["status"], gone["reduced"]) == ("cancelled", PHONES_TOTAL)
    refused(c.supplier.post(f"{V1}/orders/{cancelled}/confirm"), 409, "order_not_open")


def test_a_supplier_holds_a_key_never_a_sign_in_and_its_keys_are_its_own(db: Database) -> None:
    """Suppliers have no password and no console; a funder and a supplier that share a
    code do not share keys."""
    register_funder(db, lender("T1", "0.12", "2")[0])
    register_supplier(
        db, SupplierInput("T1", "同名供应商有限公司", firm(701).uscc, SUPPLIER_ACCOUNT, "银行")
    )
    api = Api(db)
    ops = api.sign_in("operator", "ops")
    with pytest.raises(YirongError) as no_sign_in:
        access.create_user(db, "t1-supplier", "x" * 12, "supplier", "T1")
    assert no_sign_in.value.code == "role_without_sign_in"
    person = {"username": "t1-supplier", "password": "x" * 12, "role": "supplier", "subject": "T1"}
    refused(ops.post(f"{V1}/users", person), 422, "role_without_sign_in")
    # A supplier's sign-in written straight into the table opens nothing either.
    db.run(
        lambda tx: tx.session.add(
            User(
                username=person["username"],
                password_hash=secrets.hash_password(person["password"]),
                role="supplier",
                subject="T1",
                created_at=datetime.now(UTC),
            )
        )
    )
    credentials = {"username": person["username"], "password": person["password"]}
    refused(api.client.post(f"{V1}/auth/token", json=credentials), 401, "login_failed")
    refused(ops.post(f"{V1}/suppliers/NOPE/api-keys", {"label": "x"}), 404, "supplier_not_found")
    blank = {
        "code": "S2",
        "name": "   ",
        "uscc": firm(702).uscc,
        "bank_account": SUPPLIER_ACCOUNT,
        "bank_name": "银行",
    }
    refused(ops.post(f"{V1}/suppliers", blank, key="auto"), 422, "supplier_invalid")
    # Only a person issues a key: not a funder, nor a supplier's own key.
    funder_staff = api.sign_in("funder", "T1")
    refused(funder_staff.post(f"{V1}/suppliers/T1/api-keys", {"label": "x"}), 403, "access_denied")

    supplier = api.supplier_system("T1")
    funder_system = api.funder_system("T1")
    refused(supplier.post(f"{V1}/suppliers/T1/api-keys", {"label": "x"}), 403, "access_denied")
    supplier_key, funder_key = (
        int(k["id"]) for k in ok(ops.get(f"{V1}/api-keys"))["items"] if k["subject"] == "T1"
    )
    # The funder's staff list and stop their own keys, not the supplier's of that code.
    assert [k["role"] for k in ok(funder_staff.get(f"{V1}/api-keys"))["items"]] == ["funder"]
    refused(funder_staff.post(f"{V1}/api-keys/{supplier_key}/revoke"), 404, "api_key_not_found")
    assert ok(funder_staff.post(f"{V1}/funders/T1/api-keys/revoke-all"))["revoked"] == 1
    assert ok(supplier.get(f"{V1}/me"))["role"] == "supplier"  # still works
    refused(funder_system.get(f"{V1}/me"), 401, "token_invalid")
    # A supplier's system may stop its own key (never a funder's); then it is refused.
    refused(supplier.post(f"{V1}/api-keys/{funder_key}/revoke"), 404, "api_key_not_found")
    assert ok(supplier.post(f"{V1}/api-keys/{supplier_key}/revoke"))["revoked"] is True
    refused(supplier.get(f"{V1}/me"), 401, "token_invalid")
