"""The authorization matrix: every route of the API × every role × the caller's own and
another's resource, with the expected allow or deny.

The expectation is written here by hand: who may call each route (``WRITTEN_ROLES``)
and, in ``TARGETS``, whose resource its example call touches. A route without both
fails the test, so a new route cannot ship unchecked, and a route whose declared roles
(``Access``) differ from the written ones fails it too.

Callers: agent A (own) and agent B (another agent), funder T1 (own: A's lender, on
its line and on A's orders) and funder T2 (another funder), supplier DIST1's system
(own: the supplier of A's orders) and supplier DIST2's (another supplier), an
operator, and nobody. Suppliers hold API keys, so their recording calls are signed
as their systems sign them. "Allowed" means the call got past
authorization (any answer but 401/403/404, and never 5xx); "denied" means 403 (or 404,
where a route hides whether another's resource exists), and changed nothing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import timedelta
from itertools import count
from json import dumps
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from tests.api.client import Api, Caller
from tests.bank import fund
from tests.credit.market import consent, order_lender
from tests.databases import BACKENDS
from tests.loans.story import market_with_lines
from tests.orders.market import (
    SUPPLIER,
    SUPPLIER_ACCOUNT,
    SUPPLIER_USCC,
    GoodsLine,
    ready_order,
)
from yirong.access.service import issue_api_key
from yirong.access.signing import signature_headers
from yirong.api.app import access_of
from yirong.books.service import current_business_date
from yirong.credit.applications import FirmDetails, apply_for_credit, current_credit
from yirong.credit.consents import APPLICATION_FIELDS, consents_of
from yirong.credit.decisions import decide_by_scorecards
from yirong.credit.offers import compare_offers
from yirong.credit.preapproval import run_preapproval
from yirong.demo.identities import firm
from yirong.eod.service import run_eod
from yirong.events.delivery import event_id
from yirong.funders.service import add_product
from yirong.funders.tables import Funder
from yirong.infra.db import Database
from yirong.infra.outbox import OutboxMessage
from yirong.loans.drawdowns import request_drawdown
from yirong.loans.repayments import repay
from yirong.loans.tables import FreezeRequest
from yirong.orders.financing import request_financing
from yirong.orders.purchase import get_order
from yirong.orders.suppliers import SupplierInput, register_supplier, verify_account
from yirong.payments.batch import batches
from yirong.reconciliation.daily import run_day
from yirong.reconciliation.tables import ReconApproval, ReconException, StatementFile
from yirong.roles import Role
from yirong.wallets import service as wallets

AGENT_ONLY, FUNDER_ONLY, PARTY = "agent", "funder", "party"
# A supplier's own (DIST1's), and A's order from DIST1: A's and DIST1's both.
SUPPLIER_ONLY, ORDER = "supplier", "order"
OTHER_SUPPLIER = "DIST2"


@dataclass(frozen=True)
class World:
    """A's and T1's resources that the example calls touch."""

    agent: str  # A: borrows from T1
    other_agent: str  # B
    drawdown: int
    order_ref: str
    repayment: int
    application: int
    line: int
    consent: int
    withdrawal: int
    exception: int
    approval: int
    statement: int
    freeze_request: int
    spare_key: int
    event: str  # its public evt_ id
    firm: dict[str, str]  # A's details as it would confirm them
    day: str  # a closed day: reconciled, its funder files made
    batch: str  # a payment batch file
    purchase_order: str  # A's order from DIST1, confirmed and documented
    document: str  # its contract
    financing: str  # its financing, asked of T1
    spare_financing: str  # another order's, to reject and cancel


@dataclass(frozen=True)
class Target:
    method: str
    path: str
    # AGENT_ONLY (A's), FUNDER_ONLY (T1's), PARTY (A's and T1's), SUPPLIER_ONLY
    # (DIST1's), ORDER (A's and DIST1's)
    owner: str | None = None
    json: Any = None
    content: bytes | None = None
    headers: dict[str, str] | None = None


T = Callable[[World], Target]


def get(path: str, owner: str | None = None) -> T:
    return lambda w: Target("GET", path.format(w=w), owner)


def post(path: str, owner: str | None = None, json: Any = None) -> T:
    return lambda w: Target("POST", path.format(w=w), owner, json)


def put(path: str, owner: str | None = None, json: Any = None) -> T:
    return lambda w: Target("PUT", path.format(w=w), owner, json)


def form(path: str, owner: str | None, file: bytes) -> Target:
    """A POST of a multipart form with the file in its ``file`` field."""
    # Only encoded here (httpx draws the boundary), never sent from this object.
    request = httpx.Request("POST", "http://127.0.0.1", files={"file": ("matrix.csv", file)})
    headers = {"Content-Type": request.headers["Content-Type"]}
    return Target("POST", path, owner, content=request.read(), headers=headers)


# (method, route template) -> the example call on A's / T1's resource.
TARGETS: dict[tuple[str, str], T] = {
    # access
    ("POST", "/api/v1/auth/logout"): post("/api/v1/auth/logout"),
    ("GET", "/api/v1/me"): get("/api/v1/me"),
    ("POST", "/api/v1/users"): post(
        "/api/v1/users",
        json={
            "username": "new-person",
            "password": "a-long-password",
            "role": "operator",
            "subject": "ops2",
        },
    ),
    ("POST", "/api/v1/funders/{funder}/api-keys"): post(
        "/api/v1/funders/T1/api-keys", FUNDER_ONLY, {"label": "matrix"}
    ),
    ("POST", "/api/v1/funders/{funder}/api-keys/revoke-all"): post(
        "/api/v1/funders/T1/api-keys/revoke-all", FUNDER_ONLY
    ),
    ("GET", "/api/v1/api-keys"): get("/api/v1/api-keys"),
    ("POST", "/api/v1/api-keys/{key_id}/rotate"): post(
        "/api/v1/api-keys/{w.spare_key}/rotate", FUNDER_ONLY
    ),
    ("POST", "/api/v1/api-keys/{key_id}/revoke"): post(
        "/api/v1/api-keys/{w.spare_key}/revoke", FUNDER_ONLY
    ),
    ("GET", "/api/v1/audit"): get("/api/v1/audit"),
    # wallets
    ("GET", "/api/v1/wallets/{handle}"): get("/api/v1/wallets/{w.agent}", AGENT_ONLY),
    ("GET", "/api/v1/wallets/{handle}/statement"): get(
        "/api/v1/wallets/{w.agent}/statement", AGENT_ONLY
    ),
    ("POST", "/api/v1/wallets/{handle}/top-ups"): post(
        "/api/v1/wallets/{w.agent}/top-ups", AGENT_ONLY, {"amount": 100}
    ),
    ("POST", "/api/v1/wallets/{handle}/withdrawals"): post(
        "/api/v1/wallets/{w.agent}/withdrawals", AGENT_ONLY, {"amount": 100}
    ),
    ("POST", "/api/v1/withdrawals/{withdrawal_id}/confirm"): post(
        "/api/v1/withdrawals/{w.withdrawal}/confirm"
    ),
    ("POST", "/api/v1/withdrawals/{withdrawal_id}/fail"): post(
        "/api/v1/withdrawals/{w.withdrawal}/fail", AGENT_ONLY, {"reason": "bank said no"}
    ),
    ("POST", "/api/v1/wallets/{handle}/carrier-prepayments"): post(
        "/api/v1/wallets/{w.agent}/carrier-prepayments", AGENT_ONLY, {"amount": 100}
    ),
    ("POST", "/api/v1/wallets/{handle}/freezes"): post(
        "/api/v1/wallets/{w.agent}/freezes", AGENT_ONLY, {"reason": "risk", "note": "matrix"}
    ),
    ("POST", "/api/v1/wallets/{handle}/unfreeze"): post(
        "/api/v1/wallets/{w.agent}/unfreeze", AGENT_ONLY, {"reason": "risk", "note": "matrix"}
    ),
    ("POST", "/api/v1/commissions/files"): lambda w: Target(
        "POST",
        "/api/v1/commissions/files?filename=matrix.csv",
        None,
        content=f"agent,month,amount\n{w.agent},2025-12,100\n".encode(),
        headers={"Content-Type": "text/csv"},
    ),
    ("POST", "/api/v1/commissions/files/form"): lambda w: form(
        "/api/v1/commissions/files/form?filename=matrix.csv",
        None,
        f"agent,month,amount\n{w.agent},2025-12,100\n".encode(),
    ),
    # agents and funders
    ("POST", "/api/v1/agents"): lambda w: Target("POST", "/api/v1/agents", None, new_firm()),
    ("GET", "/api/v1/agents"): get("/api/v1/agents"),
    ("GET", "/api/v1/agents/{code}"): get("/api/v1/agents/{w.agent}", PARTY),
    ("GET", "/api/v1/funders"): get("/api/v1/funders"),
    ("GET", "/api/v1/funders/{code}/products"): get("/api/v1/funders/T1/products"),
    ("PUT", "/api/v1/funders/{code}/events-endpoint"): put(
        "/api/v1/funders/T1/events-endpoint", FUNDER_ONLY, {"url": "http://127.0.0.1:9/events"}
    ),
    ("POST", "/api/v1/funders"): post(
        "/api/v1/funders",
        json={
            "code": "T9",
            "name": "Lender T9",
            "licence": "micro_loan",
            "contact": "T9 desk",
            "settlement_bank_account": "6222000000009",
            "settlement_bank_name": "Bank",
            "revenue_share": "0.2",
            "decision_mode": "manual",
        },
    ),
    ("POST", "/api/v1/funders/{code}/products"): post(
        "/api/v1/funders/T1/products",
        json={
            "code": "P9",
            "name": "Another line",
            "kind": "revolving",
            "method": "revolving",
            "min_rate": "0.08",
            "max_rate": "0.18",
            "min_limit": 100_000,
            "max_limit": 5_000_000,
            "min_term_days": 7,
            "max_term_days": 90,
        },
    ),
    ("GET", "/api/v1/policy/settings"): get("/api/v1/policy/settings"),
    ("PUT", "/api/v1/policy/settings/{key}"): put(
        "/api/v1/policy/settings/apr_cap", json={"value": "0.24", "effective_from": "2026-12-01"}
    ),
    # credit
    ("GET", "/api/v1/consent-text"): get("/api/v1/consent-text"),
    ("POST", "/api/v1/agents/{code}/preapproval-consent"): post(
        "/api/v1/agents/{w.agent}/preapproval-consent", AGENT_ONLY, {"text_version": "2026-01"}
    ),
    ("GET", "/api/v1/agents/{code}/consents"): get("/api/v1/agents/{w.agent}/consents", AGENT_ONLY),
    ("POST", "/api/v1/agents/{code}/consents/{consent_id}/withdraw"): post(
        "/api/v1/agents/{w.agent}/consents/{w.consent}/withdraw", AGENT_ONLY
    ),
    ("POST", "/api/v1/preapproval/runs"): post("/api/v1/preapproval/runs"),
    ("GET", "/api/v1/funders/{code}/candidates"): get("/api/v1/funders/T1/candidates", FUNDER_ONLY),
    ("GET", "/api/v1/agents/{code}/offers"): get("/api/v1/agents/{w.agent}/offers", AGENT_ONLY),
    ("POST", "/api/v1/agents/{code}/applications"): lambda w: Target(
        "POST",
        f"/api/v1/agents/{w.agent}/applications",
        AGENT_ONLY,
        {
            "offer_id": 1,
            "firm": w.firm,
            "consent": {
                "fields": list(APPLICATION_FIELDS),
                "valid_until": "2026-12-31",
                "text_version": "2026-01",
            },
        },
    ),
    ("GET", "/api/v1/applications"): get("/api/v1/applications"),
    ("GET", "/api/v1/applications/{application_id}"): get(
        "/api/v1/applications/{w.application}", PARTY
    ),
    ("GET", "/api/v1/applications/{application_id}/applicant"): get(
        "/api/v1/applications/{w.application}/applicant", FUNDER_ONLY
    ),
    ("POST", "/api/v1/applications/{application_id}/approve"): post(
        "/api/v1/applications/{w.application}/approve",
        FUNDER_ONLY,
        {"credit_limit": 1_000_000, "annual_rate": "0.12"},
    ),
    ("POST", "/api/v1/applications/{application_id}/reject"): post(
        "/api/v1/applications/{w.application}/reject", FUNDER_ONLY, {"reason_code": "policy"}
    ),
    ("POST", "/api/v1/applications/{application_id}/withdraw"): post(
        "/api/v1/applications/{w.application}/withdraw", AGENT_ONLY
    ),
    ("GET", "/api/v1/lines"): get("/api/v1/lines"),
    ("GET", "/api/v1/lines/{line_id}"): get("/api/v1/lines/{w.line}", PARTY),
    ("POST", "/api/v1/lines/{line_id}/close"): post(
        "/api/v1/lines/{w.line}/close", FUNDER_ONLY, {"reason": "matrix"}
    ),
    # loans
    ("POST", "/api/v1/agents/{code}/drawdowns"): post(
        "/api/v1/agents/{w.agent}/drawdowns", AGENT_ONLY, {"amount": 1_000, "term_days": 30}
    ),
    ("GET", "/api/v1/drawdowns"): get("/api/v1/drawdowns"),
    ("GET", "/api/v1/drawdowns/{drawdown_id}"): get("/api/v1/drawdowns/{w.drawdown}", PARTY),
    ("POST", "/api/v1/drawdowns/{drawdown_id}/cancel"): post(
        "/api/v1/drawdowns/{w.drawdown}/cancel", AGENT_ONLY
    ),
    ("POST", "/api/v1/drawdowns/{drawdown_id}/reject"): post(
        "/api/v1/drawdowns/{w.drawdown}/reject", FUNDER_ONLY, {"reason": "matrix"}
    ),
    # reconciliation: a funder says it paid its own order (a notice); operators import
    # statements and work the exception queue.
    ("POST", "/api/v1/fundings"): lambda w: Target(
        "POST",
        "/api/v1/fundings",
        FUNDER_ONLY,
        {"order_ref": w.order_ref, "amount": 300_000, "bank_ref": "MATRIX-BANK-1"},
    ),
    ("GET", "/api/v1/notices"): get("/api/v1/notices"),
    ("GET", "/api/v1/payments"): get("/api/v1/payments"),
    ("GET", "/api/v1/bank-accounts"): get("/api/v1/bank-accounts"),
    ("POST", "/api/v1/bank-accounts"): post(
        "/api/v1/bank-accounts",
        None,
        {"number": "6222000011112222", "bank_name": "工商银行", "name": "易融支付"},
    ),
    ("POST", "/api/v1/bank-statements"): lambda w: Target(
        "POST",
        "/api/v1/bank-statements?filename=matrix.csv",
        None,
        content=b"not a statement",
        headers={"Content-Type": "application/octet-stream"},
    ),
    ("POST", "/api/v1/bank-statements/form"): lambda w: form(
        "/api/v1/bank-statements/form?filename=matrix.csv", None, b"not a statement"
    ),
    ("GET", "/api/v1/bank-statements"): get("/api/v1/bank-statements"),
    ("GET", "/api/v1/bank-statements/{file_id}/raw"): get(
        "/api/v1/bank-statements/{w.statement}/raw"
    ),
    ("GET", "/api/v1/recon/exceptions"): get("/api/v1/recon/exceptions"),
    ("GET", "/api/v1/recon/exceptions/{exception_id}"): get(
        "/api/v1/recon/exceptions/{w.exception}"
    ),
    ("POST", "/api/v1/recon/exceptions/{exception_id}/assign"): post(
        "/api/v1/recon/exceptions/{w.exception}/assign", None, {"owner": "desk-2"}
    ),
    ("POST", "/api/v1/recon/exceptions/{exception_id}/release"): post(
        "/api/v1/recon/exceptions/{w.exception}/release"
    ),
    ("POST", "/api/v1/recon/exceptions/{exception_id}/suspense"): post(
        "/api/v1/recon/exceptions/{w.exception}/suspense"
    ),
    ("POST", "/api/v1/recon/exceptions/{exception_id}/dismiss"): post(
        "/api/v1/recon/exceptions/{w.exception}/dismiss", None, {"reason": "matrix"}
    ),
    ("POST", "/api/v1/recon/exceptions/{exception_id}/match"): lambda w: Target(
        "POST",
        f"/api/v1/recon/exceptions/{w.exception}/match",
        None,
        {"target": f"wallet:agent:{w.agent}"},
    ),
    ("POST", "/api/v1/recon/exceptions/{exception_id}/return"): post(
        "/api/v1/recon/exceptions/{w.exception}/return"
    ),
    ("GET", "/api/v1/recon/approvals"): get("/api/v1/recon/approvals"),
    ("POST", "/api/v1/recon/approvals/{approval_id}/refuse"): post(
        "/api/v1/recon/approvals/{w.approval}/refuse", None, {"reason": "matrix"}
    ),
    ("POST", "/api/v1/recon/approvals/{approval_id}/approve"): post(
        "/api/v1/recon/approvals/{w.approval}/approve"
    ),
    ("GET", "/api/v1/recon/rules"): get("/api/v1/recon/rules"),
    ("POST", "/api/v1/recon/days/{day}/run"): post("/api/v1/recon/days/{w.day}/run"),
    ("GET", "/api/v1/recon/days/{day}"): get("/api/v1/recon/days/{w.day}"),
    ("GET", "/api/v1/recon/days"): get("/api/v1/recon/days"),
    ("POST", "/api/v1/recon/days/{day}/sign-off"): post(
        "/api/v1/recon/days/{w.day}/sign-off", None, {"note": "matrix"}
    ),
    ("GET", "/api/v1/payment-batches"): get("/api/v1/payment-batches"),
    ("GET", "/api/v1/payment-batches/{reference}"): get("/api/v1/payment-batches/{w.batch}"),
    ("GET", "/api/v1/funders/{funder}/files"): get("/api/v1/funders/T1/files", FUNDER_ONLY),
    ("GET", "/api/v1/funders/{funder}/files/{day}/{kind}"): get(
        "/api/v1/funders/T1/files/{w.day}/LOANS", FUNDER_ONLY
    ),
    ("POST", "/api/v1/funders/{funder}/files/{day}/{kind}/compare"): lambda w: Target(
        "POST",
        f"/api/v1/funders/T1/files/{w.day}/LOANS/compare",
        FUNDER_ONLY,
        content=b"H|T1|LOANS|x\n",
        headers={"Content-Type": "text/plain"},
    ),
    ("POST", "/api/v1/funders/{funder}/files/{day}/{kind}/compare/form"): lambda w: form(
        f"/api/v1/funders/T1/files/{w.day}/LOANS/compare/form", FUNDER_ONLY, b"H|T1|LOANS|x\n"
    ),
    ("GET", "/api/v1/funders/{funder}/file-checks"): get(
        "/api/v1/funders/T1/file-checks", FUNDER_ONLY
    ),
    ("PUT", "/api/v1/recon/rules/{name}"): put(
        "/api/v1/recon/rules/funding_notice", None, {"days_after": 4}
    ),
    ("GET", "/api/v1/agents/{code}/repayments/preview"): get(
        "/api/v1/agents/{w.agent}/repayments/preview", AGENT_ONLY
    ),
    ("GET", "/api/v1/agents/{code}/drawdowns/preview"): get(
        "/api/v1/agents/{w.agent}/drawdowns/preview?amount=1000&term_days=30", AGENT_ONLY
    ),
    ("POST", "/api/v1/agents/{code}/repayments"): post(
        "/api/v1/agents/{w.agent}/repayments", AGENT_ONLY, {"amount": 100}
    ),
    ("GET", "/api/v1/repayments"): get("/api/v1/repayments"),
    ("POST", "/api/v1/repayments/{repayment_id}/reverse"): post(
        "/api/v1/repayments/{w.repayment}/reverse", None, {"reason": "matrix"}
    ),
    ("GET", "/api/v1/agents/{code}/standing"): get("/api/v1/agents/{w.agent}/standing", PARTY),
    ("GET", "/api/v1/funders/{code}/portfolio"): get("/api/v1/funders/T1/portfolio", FUNDER_ONLY),
    ("GET", "/api/v1/funders/{code}/statements/{month}"): get(
        "/api/v1/funders/T1/statements/2026-01", FUNDER_ONLY
    ),
    ("GET", "/api/v1/funders/{code}/past-due"): get("/api/v1/funders/T1/past-due", FUNDER_ONLY),
    ("POST", "/api/v1/freeze-requests"): lambda w: Target(
        "POST", "/api/v1/freeze-requests", None, {"agent": w.agent, "note": "matrix"}
    ),
    ("GET", "/api/v1/freeze-requests"): get("/api/v1/freeze-requests"),
    ("POST", "/api/v1/freeze-requests/{request_id}/apply"): post(
        "/api/v1/freeze-requests/{w.freeze_request}/apply", None, {"note": "matrix"}
    ),
    ("POST", "/api/v1/freeze-requests/{request_id}/decline"): post(
        "/api/v1/freeze-requests/{w.freeze_request}/decline", None, {"note": "matrix"}
    ),
    # end of day, books, ledger
    ("POST", "/api/v1/eod/runs"): post("/api/v1/eod/runs", None, {}),
    ("GET", "/api/v1/eod/status"): get("/api/v1/eod/status"),
    ("GET", "/api/v1/books/date"): get("/api/v1/books/date"),
    ("GET", "/api/v1/ledger/verify"): get("/api/v1/ledger/verify"),
    # events
    ("GET", "/api/v1/events"): get("/api/v1/events"),
    ("GET", "/api/v1/events/{event_id}"): get("/api/v1/events/{w.event}", FUNDER_ONLY),
    # order financing
    ("POST", "/api/v1/suppliers"): post(
        "/api/v1/suppliers",
        json={
            "code": "DIST9",
            "name": "Distributor 9",
            "uscc": firm(9_001).uscc,
            "bank_account": "6225880000999999",
            "bank_name": "Bank",
        },
    ),
    ("GET", "/api/v1/suppliers"): get("/api/v1/suppliers"),
    ("GET", "/api/v1/suppliers/{code}"): get(f"/api/v1/suppliers/{SUPPLIER}", SUPPLIER_ONLY),
    ("POST", "/api/v1/suppliers/{code}/verify-account"): post(
        f"/api/v1/suppliers/{SUPPLIER}/verify-account"
    ),
    ("PUT", "/api/v1/suppliers/{code}/account"): put(
        f"/api/v1/suppliers/{OTHER_SUPPLIER}/account",
        json={"bank_account": "6225880000222222", "bank_name": "Bank"},
    ),
    ("PUT", "/api/v1/suppliers/{code}/whitelist"): put(
        f"/api/v1/suppliers/{OTHER_SUPPLIER}/whitelist", json={"whitelisted": True}
    ),
    ("POST", "/api/v1/suppliers/{supplier}/api-keys"): post(
        f"/api/v1/suppliers/{OTHER_SUPPLIER}/api-keys", json={"label": "matrix"}
    ),
    ("POST", "/api/v1/agents/{code}/orders"): post(
        "/api/v1/agents/{w.agent}/orders",
        AGENT_ONLY,
        {
            "supplier": SUPPLIER,
            "order_no": "PO-MX",
            "lines": [{"description": "Phone", "quantity": 1, "unit_price": 100_000}],
            "expected_delivery": "2026-06-30",
        },
    ),
    ("GET", "/api/v1/agents/{code}/orders"): get("/api/v1/agents/{w.agent}/orders", AGENT_ONLY),
    ("GET", "/api/v1/orders/{reference}"): get("/api/v1/orders/{w.purchase_order}", ORDER),
    ("POST", "/api/v1/orders/{reference}/confirm"): post(
        "/api/v1/orders/{w.purchase_order}/confirm", ORDER
    ),
    ("PUT", "/api/v1/orders/{reference}/invoice"): put(
        "/api/v1/orders/{w.purchase_order}/invoice", ORDER, {"invoice_no": "INV-PO-M1"}
    ),
    ("POST", "/api/v1/orders/{reference}/changes"): post(
        "/api/v1/orders/{w.purchase_order}/changes",
        ORDER,
        {"kind": "short_delivery", "amount": 100},
    ),
    ("POST", "/api/v1/orders/{reference}/delivered"): post(
        "/api/v1/orders/{w.purchase_order}/delivered", ORDER
    ),
    ("POST", "/api/v1/orders/{reference}/documents"): lambda w: Target(
        "POST",
        f"/api/v1/orders/{w.purchase_order}/documents?kind=delivery_receipt&filename=m.pdf",
        ORDER,
        content=b"%PDF matrix receipt",
        headers={"Content-Type": "application/pdf"},
    ),
    ("POST", "/api/v1/orders/{reference}/documents/form"): lambda w: form(
        f"/api/v1/orders/{w.purchase_order}/documents/form?kind=delivery_receipt&filename=m.pdf",
        ORDER,
        b"%PDF matrix receipt, as a form",
    ),
    ("GET", "/api/v1/orders/{reference}/documents/{document}"): get(
        "/api/v1/orders/{w.purchase_order}/documents/{w.document}", ORDER
    ),
    ("POST", "/api/v1/orders/{reference}/financings"): post(
        "/api/v1/orders/{w.purchase_order}/financings", ORDER, {"advance": 1_000}
    ),
    ("GET", "/api/v1/order-financings"): get("/api/v1/order-financings"),
    ("GET", "/api/v1/order-financings/{reference}"): get(
        "/api/v1/order-financings/{w.financing}", PARTY
    ),
    ("POST", "/api/v1/order-financings/{reference}/approve"): post(
        "/api/v1/order-financings/{w.financing}/approve", PARTY
    ),
    ("POST", "/api/v1/order-financings/{reference}/reject"): post(
        "/api/v1/order-financings/{w.spare_financing}/reject", PARTY, {"reason": "matrix"}
    ),
    ("POST", "/api/v1/order-financings/{reference}/cancel"): post(
        "/api/v1/order-financings/{w.spare_financing}/cancel", PARTY
    ),
    ("GET", "/api/v1/order-financings/{reference}/documents/{document}"): get(
        "/api/v1/order-financings/{w.financing}/documents/{w.document}", PARTY
    ),
    ("GET", "/api/v1/order-financings/{reference}/payout-gate"): get(
        "/api/v1/order-financings/{w.financing}/payout-gate"
    ),
    ("POST", "/api/v1/order-financings/{reference}/payout"): post(
        "/api/v1/order-financings/{w.financing}/payout"
    ),
    ("GET", "/api/v1/funders/{code}/order-concentration"): get(
        "/api/v1/funders/T1/order-concentration", FUNDER_ONLY
    ),
    # service
    ("GET", "/metrics"): get("/metrics"),
    ("GET", "/readyz"): get("/readyz"),
    ("POST", "/api/v1/events/{event_id}/redeliver"): post("/api/v1/events/{w.event}/redeliver"),
}


# Who may call each route, written here by hand (A agent, F funder, S supplier, O
# operator): the
# expectation does not come from the routes themselves, so widening a route's roles
# fails this test. The route table is compared with it as a second check.
WRITTEN_ROLES: dict[tuple[str, str], str] = {
    ("GET", "/metrics"): "O",
    ("GET", "/readyz"): "O",
    ("GET", "/api/v1/agents"): "O",
    ("POST", "/api/v1/agents"): "O",
    ("GET", "/api/v1/agents/{code}"): "AFO",
    ("POST", "/api/v1/agents/{code}/applications"): "A",
    ("GET", "/api/v1/agents/{code}/consents"): "AO",
    ("POST", "/api/v1/agents/{code}/consents/{consent_id}/withdraw"): "A",
    ("POST", "/api/v1/agents/{code}/drawdowns"): "A",
    ("GET", "/api/v1/agents/{code}/drawdowns/preview"): "AO",
    ("GET", "/api/v1/agents/{code}/offers"): "AO",
    ("POST", "/api/v1/agents/{code}/preapproval-consent"): "A",
    ("POST", "/api/v1/agents/{code}/repayments"): "A",
    ("GET", "/api/v1/agents/{code}/repayments/preview"): "AO",
    ("GET", "/api/v1/agents/{code}/standing"): "AFO",
    ("GET", "/api/v1/api-keys"): "FO",
    ("POST", "/api/v1/api-keys/{key_id}/revoke"): "FSO",
    ("POST", "/api/v1/api-keys/{key_id}/rotate"): "FO",
    ("GET", "/api/v1/applications"): "AFO",
    ("GET", "/api/v1/applications/{application_id}"): "AFO",
    ("GET", "/api/v1/applications/{application_id}/applicant"): "F",
    ("POST", "/api/v1/applications/{application_id}/approve"): "F",
    ("POST", "/api/v1/applications/{application_id}/reject"): "F",
    ("POST", "/api/v1/applications/{application_id}/withdraw"): "A",
    ("GET", "/api/v1/audit"): "O",
    ("POST", "/api/v1/auth/logout"): "AFO",
    ("GET", "/api/v1/bank-accounts"): "O",
    ("POST", "/api/v1/bank-accounts"): "O",
    ("GET", "/api/v1/bank-statements"): "O",
    ("POST", "/api/v1/bank-statements"): "O",
    ("POST", "/api/v1/bank-statements/form"): "O",
    ("GET", "/api/v1/bank-statements/{file_id}/raw"): "O",
    ("GET", "/api/v1/books/date"): "AFO",
    ("POST", "/api/v1/commissions/files"): "O",
    ("POST", "/api/v1/commissions/files/form"): "O",
    ("GET", "/api/v1/consent-text"): "AFO",
    ("GET", "/api/v1/drawdowns"): "AFO",
    ("GET", "/api/v1/drawdowns/{drawdown_id}"): "AFO",
    ("POST", "/api/v1/drawdowns/{drawdown_id}/cancel"): "A",
    ("POST", "/api/v1/drawdowns/{drawdown_id}/reject"): "F",
    ("POST", "/api/v1/eod/runs"): "O",
    ("GET", "/api/v1/eod/status"): "O",
    ("GET", "/api/v1/events"): "FO",
    ("GET", "/api/v1/events/{event_id}"): "FO",
    ("POST", "/api/v1/events/{event_id}/redeliver"): "O",
    ("GET", "/api/v1/freeze-requests"): "FO",
    ("POST", "/api/v1/freeze-requests"): "F",
    ("POST", "/api/v1/freeze-requests/{request_id}/apply"): "O",
    ("POST", "/api/v1/freeze-requests/{request_id}/decline"): "O",
    ("GET", "/api/v1/funders"): "AFO",
    ("POST", "/api/v1/funders"): "O",
    ("GET", "/api/v1/funders/{code}/candidates"): "F",
    ("PUT", "/api/v1/funders/{code}/events-endpoint"): "FO",
    ("GET", "/api/v1/funders/{code}/past-due"): "FO",
    ("GET", "/api/v1/funders/{code}/portfolio"): "FO",
    ("GET", "/api/v1/funders/{code}/products"): "AFO",
    ("POST", "/api/v1/funders/{code}/products"): "O",
    ("GET", "/api/v1/funders/{code}/statements/{month}"): "FO",
    ("POST", "/api/v1/funders/{funder}/api-keys"): "FO",
    ("POST", "/api/v1/funders/{funder}/api-keys/revoke-all"): "FO",
    ("GET", "/api/v1/funders/{funder}/file-checks"): "FO",
    ("GET", "/api/v1/funders/{funder}/files"): "FO",
    ("GET", "/api/v1/funders/{funder}/files/{day}/{kind}"): "FO",
    ("POST", "/api/v1/funders/{funder}/files/{day}/{kind}/compare"): "FO",
    ("POST", "/api/v1/funders/{funder}/files/{day}/{kind}/compare/form"): "FO",
    ("POST", "/api/v1/fundings"): "FO",
    ("GET", "/api/v1/ledger/verify"): "O",
    ("GET", "/api/v1/lines"): "AFO",
    ("GET", "/api/v1/lines/{line_id}"): "AFO",
    ("POST", "/api/v1/lines/{line_id}/close"): "FO",
    ("GET", "/api/v1/me"): "AFSO",
    ("GET", "/api/v1/notices"): "FO",
    ("GET", "/api/v1/payment-batches"): "O",
    ("GET", "/api/v1/payment-batches/{reference}"): "O",
    ("GET", "/api/v1/payments"): "O",
    ("GET", "/api/v1/policy/settings"): "AFO",
    ("PUT", "/api/v1/policy/settings/{key}"): "O",
    ("POST", "/api/v1/preapproval/runs"): "O",
    ("GET", "/api/v1/recon/approvals"): "O",
    ("POST", "/api/v1/recon/approvals/{approval_id}/approve"): "O",
    ("POST", "/api/v1/recon/approvals/{approval_id}/refuse"): "O",
    ("GET", "/api/v1/recon/days"): "O",
    ("GET", "/api/v1/recon/days/{day}"): "O",
    ("POST", "/api/v1/recon/days/{day}/run"): "O",
    ("POST", "/api/v1/recon/days/{day}/sign-off"): "O",
    ("GET", "/api/v1/recon/exceptions"): "O",
    ("GET", "/api/v1/recon/exceptions/{exception_id}"): "O",
    ("POST", "/api/v1/recon/exceptions/{exception_id}/assign"): "O",
    ("POST", "/api/v1/recon/exceptions/{exception_id}/dismiss"): "O",
    ("POST", "/api/v1/recon/exceptions/{exception_id}/match"): "O",
    ("POST", "/api/v1/recon/exceptions/{exception_id}/release"): "O",
    ("POST", "/api/v1/recon/exceptions/{exception_id}/return"): "O",
    ("POST", "/api/v1/recon/exceptions/{exception_id}/suspense"): "O",
    ("GET", "/api/v1/recon/rules"): "O",
    ("PUT", "/api/v1/recon/rules/{name}"): "O",
    ("GET", "/api/v1/repayments"): "AFO",
    ("POST", "/api/v1/repayments/{repayment_id}/reverse"): "O",
    ("POST", "/api/v1/users"): "O",
    ("GET", "/api/v1/wallets/{handle}"): "AFO",
    ("POST", "/api/v1/wallets/{handle}/carrier-prepayments"): "AO",
    ("POST", "/api/v1/wallets/{handle}/freezes"): "O",
    ("GET", "/api/v1/wallets/{handle}/statement"): "AFO",
    ("POST", "/api/v1/wallets/{handle}/top-ups"): "O",
    ("POST", "/api/v1/wallets/{handle}/unfreeze"): "O",
    ("POST", "/api/v1/wallets/{handle}/withdrawals"): "AFO",
    ("POST", "/api/v1/withdrawals/{withdrawal_id}/confirm"): "O",
    ("POST", "/api/v1/withdrawals/{withdrawal_id}/fail"): "O",
    # order financing
    ("POST", "/api/v1/suppliers"): "O",
    ("GET", "/api/v1/suppliers"): "O",
    ("GET", "/api/v1/suppliers/{code}"): "SO",
    ("POST", "/api/v1/suppliers/{code}/verify-account"): "O",
    ("PUT", "/api/v1/suppliers/{code}/account"): "O",
    ("PUT", "/api/v1/suppliers/{code}/whitelist"): "O",
    ("POST", "/api/v1/suppliers/{supplier}/api-keys"): "O",
    ("POST", "/api/v1/agents/{code}/orders"): "A",
    ("GET", "/api/v1/agents/{code}/orders"): "AO",
    ("GET", "/api/v1/orders/{reference}"): "ASO",
    ("POST", "/api/v1/orders/{reference}/confirm"): "SO",
    ("PUT", "/api/v1/orders/{reference}/invoice"): "SO",
    ("POST", "/api/v1/orders/{reference}/changes"): "SO",
    ("POST", "/api/v1/orders/{reference}/delivered"): "SO",
    ("POST", "/api/v1/orders/{reference}/documents"): "ASO",
    ("POST", "/api/v1/orders/{reference}/documents/form"): "ASO",
    ("GET", "/api/v1/orders/{reference}/documents/{document}"): "ASO",
    ("POST", "/api/v1/orders/{reference}/financings"): "A",
    ("GET", "/api/v1/order-financings"): "AFO",
    ("GET", "/api/v1/order-financings/{reference}"): "AFO",
    ("POST", "/api/v1/order-financings/{reference}/approve"): "F",
    ("POST", "/api/v1/order-financings/{reference}/reject"): "F",
    ("POST", "/api/v1/order-financings/{reference}/cancel"): "A",
    ("GET", "/api/v1/order-financings/{reference}/documents/{document}"): "F",
    ("GET", "/api/v1/order-financings/{reference}/payout-gate"): "O",
    ("POST", "/api/v1/order-financings/{reference}/payout"): "O",
    ("GET", "/api/v1/funders/{code}/order-concentration"): "FO",
}
_ROLE = {"A": Role.AGENT, "F": Role.FUNDER, "S": Role.SUPPLIER, "O": Role.OPERATOR}


def written_roles(method: str, path: str) -> frozenset[Role]:
    return frozenset(_ROLE[c] for c in WRITTEN_ROLES[(method, path)])


def new_firm() -> dict[str, Any]:
    made = firm(9_999)
    return {
        "code": made.code,
        "name": made.name,
        "uscc": made.uscc,
        "legal_rep_name": made.legal_rep_name,
        "legal_rep_id": made.legal_rep_id,
        "mobile": made.mobile,
        "bank_card": made.bank_card,
        "bank_name": made.bank_name,
    }


@dataclass(frozen=True)
class Who:
    name: str
    role: Role | None
    own: bool
    caller: Caller


def build_world(api: Api, db: Database, agent: str, other: str, details: FirmDetails) -> World:
    wallets.credit_from_bank(db, f"agent:{agent}", 2_000_000, "matrix-top-up")
    order = request_drawdown(db, agent, 300_000, 30, "matrix-draw")
    fund(db, "T1", order.order_ref, 300_000)
    paid = repay(db, agent, 1_000, "matrix-repay")
    fund(db, "T1", "NO-SUCH-ORDER", 5_000)  # an exception
    application, line = current_credit(db, agent)
    assert application is not None and line is not None
    withdrawal = wallets.request_withdrawal(db, f"agent:{agent}", 100, "matrix-withdrawal")

    def rows(tx: Any) -> tuple[int, int, int, int, int]:
        # Written directly: a funder may only ask once a loan is in default, which this
        # world (one day old) has none of; the matrix is about who may decide it.
        request = FreezeRequest(
            funder_code="T1",
            agent_code=agent,
            note="matrix",
            status="requested",
            requested_on=order.requested_on,
        )
        tx.session.add(request)
        tx.session.flush()
        event = tx.session.scalar(
            select(func.min(OutboxMessage.id)).where(OutboxMessage.recipient == "funder:T1")
        )
        [exception] = tx.session.scalars(select(ReconException)).all()
        # A match waiting for a second operator (one above the threshold, made by
        # another operator): written directly, the matrix is about who may decide it.
        approval = ReconApproval(
            exception_id=exception.id,
            action="match",
            target="order:YR0",
            amount=exception.amount,
            maker="operator:maker",
            made_on=order.requested_on,
            status="pending",
        )
        tx.session.add(approval)
        tx.session.flush()
        statement = tx.session.scalar(select(func.min(StatementFile.id)))
        return request.id, event_id(event), exception.id, approval.id, statement

    freeze_request, event, exception, approval, statement = db.run(rows)
    # The day closes: its payments leave in a batch, its funder files are made, and it
    # is reconciled.
    day = current_business_date(db)
    run_eod(db)
    run_day(db, day, actor="operator:ops")
    [made] = batches(db)
    purchase_order, document, financing, spare_financing = order_world(db, agent, details)
    return World(
        agent=agent,
        other_agent=other,
        drawdown=order.id,
        order_ref=order.order_ref,
        repayment=paid.id,
        application=application.id,
        line=line.id,
        consent=consents_of(db, agent)[0].id,
        withdrawal=withdrawal.entry_id,
        exception=exception,
        approval=approval,
        statement=statement,
        freeze_request=freeze_request,
        spare_key=issue_api_key(db, "T1", "spare").details.id,
        event=event,
        firm=asdict(details),
        day=str(day),
        batch=made.reference,
        purchase_order=purchase_order,
        document=document,
        financing=financing,
        spare_financing=spare_financing,
    )


def order_world(db: Database, agent: str, details: FirmDetails) -> tuple[str, str, str, str]:
    """T1 grants A an order facility too; DIST1 (verified) and DIST2 are registered; A
    has two orders from DIST1, each ready and its financing asked of T1. Returns the
    first order, its contract, its financing and the second order's financing."""
    funder, product = order_lender("T1")
    add_product(db, "T1", product)
    # Written directly: no use case changes a funder's scorecard, and T1's must now
    # propose its order product (the line it proposed is granted already).
    db.run(
        lambda tx: tx.session.execute(
            update(Funder).where(Funder.code == "T1").values(scorecard=funder.scorecard)
        )
    )
    run_preapproval(db)
    offer = next(
        o
        for o in compare_offers(db, agent)
        if (o.funder_code, o.product_code) == ("T1", product.code)
    )
    apply_for_credit(db, agent, offer.id, details, consent())
    assert decide_by_scorecards(db).approved == 1
    register_supplier(
        db, SupplierInput(SUPPLIER, "Distributor 1", SUPPLIER_USCC, SUPPLIER_ACCOUNT, "Bank")
    )
    verify_account(db, SUPPLIER, by="operator:ops")
    other = SupplierInput(
        OTHER_SUPPLIER, "Distributor 2", firm(9_002).uscc, "6225880000111111", "Bank"
    )
    register_supplier(db, other)
    goods = (GoodsLine("Phone", 1, 100_000),)
    delivery = current_business_date(db) + timedelta(days=10)
    order, spare = (
        ready_order(db, agent, number, delivery=delivery, goods=goods)
        for number in ("PO-M1", "PO-M2")
    )
    financing = request_financing(db, agent, order, 80_000, "matrix-financing")
    spare_financing = request_financing(db, agent, spare, 80_000, "matrix-spare-financing")
    document = get_order(db, order).documents[0].reference
    return order, document, financing.reference, spare_financing.reference


def expected(roles: frozenset[Role], owner: str | None, who: Who) -> bool:
    if who.role is None or who.role not in roles:
        return False
    if who.role is Role.OPERATOR or owner is None:
        return True
    if who.role is Role.AGENT:
        return who.own and owner in (AGENT_ONLY, PARTY, ORDER)
    if who.role is Role.SUPPLIER:
        return who.own and owner in (SUPPLIER_ONLY, ORDER)
    return who.own and owner in (FUNDER_ONLY, PARTY)


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_route_allows_exactly_the_roles_and_owners_it_should(
    backend: str, tmp_path: Path
) -> None:
    market = market_with_lines(backend, tmp_path, 2)
    db = market.db
    api = Api(db)
    a, b = market.code(0), market.code(1)
    world = build_world(api, db, a, b, market.details(0))
    people = [
        Who("nobody", None, False, api.anonymous()),
        Who("agent B", Role.AGENT, False, api.sign_in("agent", b)),
        Who("funder T2", Role.FUNDER, False, api.sign_in("funder", "T2")),
        Who("agent A", Role.AGENT, True, api.sign_in("agent", a)),
        Who("funder T1", Role.FUNDER, True, api.sign_in("funder", "T1")),
        Who("supplier DIST2", Role.SUPPLIER, False, api.supplier_system(OTHER_SUPPLIER)),
        Who("supplier DIST1", Role.SUPPLIER, True, api.supplier_system(SUPPLIER)),
        Who("operator", Role.OPERATOR, True, api.sign_in("operator", "ops")),
    ]
    routes = [r for r in api.app.state.api_routes if access_of(r) is not None]
    missing = sorted((m, r.path) for r in routes for m in r.methods if (m, r.path) not in TARGETS)
    assert not missing, f"routes without an authorization matrix entry: {missing}"
    unwritten = sorted(
        (m, r.path) for r in routes for m in r.methods if (m, r.path) not in WRITTEN_ROLES
    )
    assert not unwritten, f"routes without written roles: {unwritten}"
    declared = {
        (m, r.path): frozenset(access.roles)
        for r in routes
        if (access := access_of(r)) is not None
        for m in r.methods
    }
    differ = sorted(k for k, roles in declared.items() if roles != written_roles(*k))
    assert not differ, f"routes whose declared roles are not the written ones: {differ}"
    assert len(routes) > 40
    wrong: list[str] = []
    checked = 0
    for route in routes:
        for method in route.methods:
            target = TARGETS[(method, route.path)](world)
            roles = written_roles(method, route.path)
            # Denied callers first: a refusal must change nothing the allowed ones see.
            ordered = sorted(people, key=lambda w: expected(roles, target.owner, w))
            for who in ordered:
                allow = expected(roles, target.owner, who)
                caller = who.caller
                if route.path == "/api/v1/auth/logout" and "username" in caller.extra:
                    caller = api.again(caller)  # a session of its own to end
                answer = _call(caller, target)
                checked += 1
                status = answer.status_code
                if status >= 500:
                    wrong.append(f"{who.name} {method} {target.path}: {status} {answer.text}")
                elif allow and status in (401, 403, 404):
                    wrong.append(
                        f"{who.name} {method} {target.path}: denied {status} {answer.text}"
                    )
                elif not allow and status not in ((401,) if who.role is None else (403, 404)):
                    wrong.append(f"{who.name} {method} {target.path}: allowed {status}")
    assert not wrong, "\n".join(wrong)
    assert checked >= len(routes) * len(people)
    db.dispose()


_keys = count(1)


def _call(caller: Caller, target: Target) -> Any:
    headers = {**caller.headers, **(target.headers or {})}
    if target.method != "GET":
        headers["Idempotency-Key"] = f"matrix-{next(_keys)}"
    if caller.signing_secret is None:
        return caller.client.request(
            target.method, target.path, json=target.json, content=target.content, headers=headers
        )
    # A system signs the body exactly as it sends it.
    body = target.content or b""
    if target.json is not None:
        body = dumps(target.json).encode()
        headers["Content-Type"] = "application/json"
    path = httpx.URL(target.path).raw_path.decode()
    headers.update(signature_headers(caller.signing_secret, target.method, path, body))
    return caller.client.request(target.method, path, content=body, headers=headers)
