"""Routes of order financing (订单融资): suppliers (operators register them, verify and
change their accounts, keep the whitelist), purchase orders (the agent enters one;
its supplier's system confirms it, gives the invoice number, attaches documents,
records what was not delivered, says it arrived; an operator may do the supplier's
part on its behalf), and financings (the agent asks, the funder approves or rejects
and reads each one whole with its documents and its concentration, the operator
reads the payout gate and triggers the payout).

Money moves on no one's word here: the funder's money and the payout's settlement are
matched from bank statements; the payout route only instructs the payment, once the
gate passes. Routes that record an order, a document, a change or a request, or that
instruct the payout, take an Idempotency-Key (a system's call with an API key is
signed, as every such call is). Another party's order or financing answers exactly
as a missing one."""

from __future__ import annotations

import mimetypes
from datetime import date
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import Depends, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from yirong.access.principals import Principal
from yirong.api.fields import Fen
from yirong.api.idempotency import ServiceKey
from yirong.api.pages import Cursor, Limit, Page, page_in_memory
from yirong.api.routing import api_router
from yirong.api.security import (
    AGENT,
    DB,
    FUNDER,
    OPERATOR,
    SUPPLIER,
    Access,
    AgentOnly,
    AgentOrOperator,
    FunderOnly,
    FunderOrOperator,
    Operator,
    hidden,
    own_agent,
    own_funder,
    own_supplier,
    scope_of,
)
from yirong.api.uploads import DOCUMENT_TYPES, UploadedFile, is_form, upload_route
from yirong.errors import YirongError
from yirong.infra.db import Database
from yirong.orders import book, financing, model, purchase, suppliers
from yirong.orders.book import Concentration, FinancingDetail
from yirong.orders.financing import FinancingView
from yirong.orders.purchase import DocumentView, GoodsLine, OrderView
from yirong.orders.suppliers import SupplierInput, SupplierView
from yirong.orders.tables import FINANCING, PURCHASE_ORDER
from yirong.roles import Role

router = api_router("orders")

SupplierOrOperator = Annotated[Principal, Depends(Access(SUPPLIER, OPERATOR))]
AgentOrSupplierOrOperator = Annotated[Principal, Depends(Access(AGENT, SUPPLIER, OPERATOR))]
AgentOrFunderOrOperator = Annotated[Principal, Depends(Access(AGENT, FUNDER, OPERATOR))]

CODE = r"^[A-Za-z0-9_-]{1,64}$"
AgentCode = Annotated[str, Path(pattern=CODE, description="The agent's code")]
FunderCode = Annotated[str, Path(pattern=CODE, description="The funder's code")]
SupplierCode = Annotated[str, Path(pattern=CODE, description="The supplier's code")]
OrderRef = Annotated[str, Path(max_length=40, description="The order's reference (po_...)")]
FinancingRef = Annotated[str, Path(max_length=40, description="The financing's reference (of_...)")]
DocumentRef = Annotated[str, Path(max_length=40, description="The document's reference (od_...)")]
# Free text for the record: no control characters.
Text = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")]
Number = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+$")]
DocumentKind = Literal["contract", "invoice", "delivery_receipt"]
ChangeKind = Literal["cancelled", "short_delivery", "returned"]
# The document's checksum on a download, in hex: what the listing says it is.
SHA256_HEADER = "X-Content-SHA256"


# ---------------------------------------------------------------- request bodies


class NewSupplier(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=r"^[A-Za-z0-9_-]{1,32}$")
    name: Text = Field(description="The firm's registered name")
    uscc: str = Field(min_length=18, max_length=18, description="统一社会信用代码")
    bank_account: str = Field(min_length=8, max_length=40, description="Settlement account")
    bank_name: str = Field(min_length=1, max_length=100)
    whitelisted: bool = Field(True, strict=True, description="May its orders be financed")


class AccountChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    bank_account: str = Field(min_length=8, max_length=40)
    bank_name: str = Field(min_length=1, max_length=100)


class Whitelisting(BaseModel):
    model_config = ConfigDict(extra="forbid")

    whitelisted: bool = Field(strict=True)


class Goods(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: Text
    quantity: int = Field(strict=True, gt=0, le=1_000_000)
    unit_price: Fen


class NewOrder(BaseModel):
    model_config = ConfigDict(extra="forbid")

    supplier: str = Field(pattern=r"^[A-Za-z0-9_-]{1,32}$", description="The supplier's code")
    order_no: Number = Field(description="The supplier's order number")
    lines: list[Goods] = Field(min_length=1, max_length=purchase.MAX_LINES)
    expected_delivery: date


class Invoice(BaseModel):
    model_config = ConfigDict(extra="forbid")

    invoice_no: Number = Field(description="发票号码: unique on the platform")


class NewChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: ChangeKind
    amount: Fen = Field(description="Fen taken off the order")
    note: Text | None = None


class NewFinancing(BaseModel):
    model_config = ConfigDict(extra="forbid")

    advance: Fen = Field(description="Fen asked of the funder: at most its advance rate")
    sell_through_days: int = Field(
        model.SELL_THROUGH_DAYS,
        strict=True,
        ge=0,
        le=365,
        description="Days to sell the goods once they arrive: the term runs to delivery, "
        "then these",
    )


class FinancingRejection(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Text


class PayoutGate(BaseModel):
    """What keeps the supplier from being paid (nothing: it may be)."""

    financing: str
    ready: bool
    missing: list[str]


# ---------------------------------------------------------------- suppliers


@router.post(
    "/suppliers",
    response_model=SupplierView,
    status_code=201,
    summary="Register a supplier (供应商); its settlement account waits to be verified",
)
def register_supplier(data: NewSupplier, _who: Operator, _key: ServiceKey, db: DB) -> SupplierView:
    return suppliers.register_supplier(
        db,
        SupplierInput(
            data.code, data.name, data.uscc, data.bank_account, data.bank_name, data.whitelisted
        ),
    )


@router.get("/suppliers", response_model=list[SupplierView], summary="Every supplier, by code")
def list_suppliers(_who: Operator, db: DB) -> list[SupplierView]:
    return suppliers.suppliers(db)


@router.get(
    "/suppliers/{code}",
    response_model=SupplierView,
    summary="One supplier: its account and whether it may be financed (a supplier: itself)",
)
def get_supplier(code: SupplierCode, who: SupplierOrOperator, db: DB) -> SupplierView:
    own_supplier(who, code)
    return suppliers.get_supplier(db, code)


@router.post(
    "/suppliers/{code}/verify-account",
    response_model=SupplierView,
    summary="Confirm the settlement account is the supplier's (a test transfer, a bank "
    "letter): nothing is paid to an account before",
)
def verify_account(code: SupplierCode, who: Operator, db: DB) -> SupplierView:
    return suppliers.verify_account(db, code, by=who.handle)


@router.put(
    "/suppliers/{code}/account",
    response_model=SupplierView,
    summary="A new settlement account: it must be verified again before anything is paid",
)
def change_account(code: SupplierCode, data: AccountChange, _who: Operator, db: DB) -> SupplierView:
    return suppliers.change_account(db, code, data.bank_account, data.bank_name)


@router.put(
    "/suppliers/{code}/whitelist",
    response_model=SupplierView,
    summary="Put the supplier on the whitelist financing requires, or take it off",
)
def whitelist(code: SupplierCode, data: Whitelisting, _who: Operator, db: DB) -> SupplierView:
    return suppliers.set_whitelisted(db, code, data.whitelisted)


# ---------------------------------------------------------------- orders


def _order_number(o: OrderView) -> int:
    return PURCHASE_ORDER.number_of(o.reference)


def _own_order(who: Principal, db: Database, reference: str) -> OrderView:
    """The order, if the caller is its agent or its supplier (operators: any); else it
    answers as missing."""
    order = purchase.get_order(db, reference)
    if who.role is Role.OPERATOR or who.is_agent(order.agent) or who.is_supplier(order.supplier):
        return order
    raise hidden("order_not_found", order=reference)


def _supplier_of(who: Principal) -> str | None:
    """The supplier a call acts as (None: an operator, on the supplier's behalf)."""
    return who.subject if who.role is Role.SUPPLIER else None


@router.post(
    "/agents/{code}/orders",
    response_model=OrderView,
    status_code=201,
    summary="Enter a purchase order (采购订单) from a supplier: its supplier confirms it "
    "next (the same supplier's order number is entered once on the platform)",
)
def enter_order(
    code: AgentCode, data: NewOrder, who: AgentOnly, key: ServiceKey, db: DB
) -> OrderView:
    own_agent(who, code)
    goods = [GoodsLine(g.description, g.quantity, g.unit_price) for g in data.lines]
    return purchase.enter_order(
        db, code, data.supplier, data.order_no, goods, data.expected_delivery, key
    )


@router.get(
    "/agents/{code}/orders",
    response_model=Page[OrderView],
    summary="The agent's purchase orders, oldest first",
)
def list_orders(
    code: AgentCode, who: AgentOrOperator, db: DB, limit: Limit = 50, cursor: Cursor = None
) -> Page[OrderView]:
    own_agent(who, code)
    return page_in_memory(purchase.orders_of(db, code), cursor, limit, _order_number)


@router.get(
    "/orders/{reference}",
    response_model=OrderView,
    summary="One purchase order: its lines, documents (with their SHA-256) and changes "
    "(its agent, its supplier)",
)
def get_order(reference: OrderRef, who: AgentOrSupplierOrOperator, db: DB) -> OrderView:
    return _own_order(who, db, reference)


@router.post(
    "/orders/{reference}/confirm",
    response_model=OrderView,
    summary="The supplier confirms the order is real (an operator may, on its behalf); "
    "again: no change",
)
def confirm_order(reference: OrderRef, who: SupplierOrOperator, db: DB) -> OrderView:
    return purchase.confirm_order(db, reference, by=who.handle, supplier_code=_supplier_of(who))


@router.put(
    "/orders/{reference}/invoice",
    response_model=OrderView,
    summary="The supplier's invoice number for the order: an invoice is financed once",
)
def set_invoice(reference: OrderRef, data: Invoice, who: SupplierOrOperator, db: DB) -> OrderView:
    return purchase.set_invoice(db, reference, data.invoice_no, supplier_code=_supplier_of(who))


@router.post(
    "/orders/{reference}/changes",
    response_model=OrderView,
    status_code=201,
    summary="Part of the order cancelled, not delivered or returned, before the supplier "
    "is paid (after: the supplier's refund records it); the whole value cancels it",
)
def record_change(
    reference: OrderRef, data: NewChange, who: SupplierOrOperator, key: ServiceKey, db: DB
) -> OrderView:
    return purchase.record_change(
        db,
        reference,
        data.kind,
        data.amount,
        data.note or "",
        key,
        by=who.handle,
        supplier_code=_supplier_of(who),
    )


@router.post(
    "/orders/{reference}/delivered",
    response_model=OrderView,
    summary="The goods arrived: the delivery receipt (签收单) must be attached first",
)
def mark_delivered(reference: OrderRef, who: SupplierOrOperator, db: DB) -> OrderView:
    return purchase.mark_delivered(db, reference, by=who.handle, supplier_code=_supplier_of(who))


@upload_route(
    router,
    "/orders/{reference}/documents",
    form="OrderDocumentUpload",
    what="The document (a PDF or a scan, up to 10 MB)",
    media_types=DOCUMENT_TYPES,
    response_model=DocumentView,
    status_code=201,
    summary="Attach a document to the order (contract 合同, invoice 发票, delivery receipt "
    "签收单), kept with its SHA-256 (the same file again: the first)",
)
async def attach_document(
    reference: OrderRef,
    content: UploadedFile,
    request: Request,
    who: AgentOrSupplierOrOperator,
    _key: ServiceKey,
    db: DB,
    kind: Annotated[DocumentKind, Query(description="What the document is")],
    filename: Annotated[
        str, Query(min_length=1, max_length=200, pattern=r"^[^/\\\x00-\x1f\x7f]+$")
    ],
) -> DocumentView:
    if is_form(request):  # the form's own part type is not read: the name says it
        media = mimetypes.guess_type(filename)[0] or ""
        media = media if media in DOCUMENT_TYPES else "application/octet-stream"
    else:
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return await run_in_threadpool(
        lambda: purchase.attach_document(
            db,
            reference,
            kind,
            filename,
            media,
            content,
            by=who.handle,
            agent_code=who.subject if who.role is Role.AGENT else None,
            supplier_code=_supplier_of(who),
        )
    )


def _download(document: DocumentView, content: bytes) -> Response:
    """The document as it was uploaded, with its SHA-256 to check it by."""
    plain = document.filename.encode("ascii", "replace").decode().replace('"', "_")
    return Response(
        content,
        media_type=document.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{plain}"; '
            f"filename*=UTF-8''{quote(document.filename)}",
            SHA256_HEADER: document.sha256,
        },
    )


@router.get(
    "/orders/{reference}/documents/{document}",
    summary="A document of the order, as uploaded; its SHA-256 in X-Content-SHA256",
    response_class=Response,
)
def download_document(
    reference: OrderRef, document: DocumentRef, who: AgentOrSupplierOrOperator, db: DB
) -> Response:
    _own_order(who, db, reference)
    return _download(*purchase.document_content(db, reference, document))


# ---------------------------------------------------------------- financings


def _financing_number(f: FinancingView) -> int:
    return FINANCING.number_of(f.reference)


@router.post(
    "/orders/{reference}/financings",
    response_model=FinancingView,
    status_code=201,
    summary="Ask the order facility's funder to advance part of the order: the agent's "
    "part and the margin (保证金) are held in the wallet until the supplier is paid",
)
def request_financing(
    reference: OrderRef, data: NewFinancing, who: AgentOnly, key: ServiceKey, db: DB
) -> FinancingView:
    _own_order(who, db, reference)
    return financing.request_financing(
        db, who.subject, reference, data.advance, key, sell_through_days=data.sell_through_days
    )


@router.get(
    "/order-financings",
    response_model=Page[FinancingView],
    summary="Order financings (an agent: its own; a funder: those asked of it), oldest first",
)
def list_financings(
    who: AgentOrFunderOrOperator, db: DB, limit: Limit = 50, cursor: Cursor = None
) -> Page[FinancingView]:
    agent, funder = scope_of(who)
    found = financing.financings(db, agent_code=agent, funder_code=funder)
    return page_in_memory(found, cursor, limit, _financing_number)


def _own_detail(who: Principal, db: Database, reference: str) -> FinancingDetail:
    if who.role is Role.FUNDER:
        return book.financing_detail(db, reference, funder_code=who.subject)
    detail = book.financing_detail(db, reference)
    if who.role is not Role.OPERATOR and not who.is_agent(detail.financing.agent):
        raise hidden("financing_not_found", financing=reference)
    return detail


@router.get(
    "/order-financings/{reference}",
    response_model=FinancingDetail,
    summary="One order financing whole: the order, its documents and confirmation, the "
    "payout and its bank receipt, the loan and what it owes today",
)
def get_financing(reference: FinancingRef, who: AgentOrFunderOrOperator, db: DB) -> FinancingDetail:
    return _own_detail(who, db, reference)


@router.post(
    "/order-financings/{reference}/approve",
    response_model=FinancingView,
    summary="The funder approves: its drawdown is ordered, and its transfer must quote the "
    "order_ref (the money waits in escrow; it goes to the supplier, not the agent)",
)
def approve_financing(reference: FinancingRef, who: FunderOnly, db: DB) -> FinancingView:
    return financing.approve_financing(db, who.subject, reference)


@router.post(
    "/order-financings/{reference}/reject",
    response_model=FinancingView,
    summary="The funder declines, saying why: the wallet's hold is released",
)
def reject_financing(
    reference: FinancingRef, data: FinancingRejection, who: FunderOnly, db: DB
) -> FinancingView:
    return financing.reject_financing(db, who.subject, reference, data.reason)


@router.post(
    "/order-financings/{reference}/cancel",
    response_model=FinancingView,
    summary="The agent calls the financing off before the supplier is paid (a funder's "
    "money already come goes back to the funder)",
)
def cancel_financing(reference: FinancingRef, who: AgentOnly, db: DB) -> FinancingView:
    return financing.cancel_financing(db, who.subject, reference)


# A funder reads the documents of an order it finances, or was asked to and has not
# turned down: not once the financing closed without its money (the order may be
# financed by another since).
_CLOSED_UNLENT = ("rejected", "cancelled")


@router.get(
    "/order-financings/{reference}/documents/{document}",
    summary="A document of the financed order, as uploaded; its SHA-256 in X-Content-SHA256",
    response_class=Response,
)
def funder_document(
    reference: FinancingRef, document: DocumentRef, who: FunderOnly, db: DB
) -> Response:
    detail = book.financing_detail(db, reference, funder_code=who.subject)
    if detail.financing.status in _CLOSED_UNLENT:
        raise YirongError("financing_not_open", financing=reference)
    return _download(*purchase.document_content(db, detail.order.reference, document))


@router.get(
    "/order-financings/{reference}/payout-gate",
    response_model=PayoutGate,
    summary="What keeps the supplier from being paid, named (the funder's money not "
    "arrived, a document missing...)",
)
def payout_gate(reference: FinancingRef, _who: Operator, db: DB) -> PayoutGate:
    missing = financing.payout_gate(db, reference)
    return PayoutGate(financing=reference, ready=not missing, missing=missing)


@router.post(
    "/order-financings/{reference}/payout",
    response_model=FinancingView,
    summary="Pay the supplier the whole order from escrow, in one payment to its verified "
    "account (受托支付), once the gate passes (else payout_gate_failed names what is "
    "missing); the payment settles when the bank's statement shows it",
)
def pay_supplier(
    reference: FinancingRef, _who: Operator, _key: ServiceKey, db: DB
) -> FinancingView:
    return financing.pay_supplier(db, reference)


@router.get(
    "/funders/{code}/order-concentration",
    response_model=Concentration,
    summary="The funder's order book by supplier and by agent (advanced, outstanding, "
    "overdue), largest first",
)
def concentration(code: FunderCode, who: FunderOrOperator, db: DB) -> Concentration:
    own_funder(who, code)
    return book.concentration(db, code)
