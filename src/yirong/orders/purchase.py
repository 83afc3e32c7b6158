"""Purchase orders (采购订单): the agent enters one, its supplier confirms it (through
the API, or an operator on its behalf), documents attach to it with their hash, and
what is cancelled, not delivered or returned comes off its value (dilution).

An order is unique by supplier and order number on the whole platform, and so is
its invoice number: the database's unique constraints say so, so that two requests
racing cannot both win."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from yirong.agents.service import agent_row
from yirong.agents.tables import Agent
from yirong.books.service import business_date_of
from yirong.errors import YirongError
from yirong.infra.db import Tx, read_only, transactional
from yirong.money import check_amount
from yirong.orders import model
from yirong.orders.suppliers import supplier_row
from yirong.orders.tables import (
    DOCUMENT,
    PURCHASE_ORDER,
    OrderChange,
    OrderDocument,
    OrderFinancing,
    PurchaseOrder,
    PurchaseOrderLine,
    Supplier,
)

MAX_LINES = 200
MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
# A financing at these steps has had the supplier paid: the order changes only by the
# supplier's refund.
PAID_OUT = ("paying", "paid", "settled", "defaulted")


@dataclass(frozen=True, slots=True)
class GoodsLine:
    description: str
    quantity: int
    unit_price: int  # fen

    @property
    def amount(self) -> int:
        return self.quantity * self.unit_price


@dataclass(frozen=True, slots=True)
class DocumentView:
    reference: str
    kind: str
    filename: str
    media_type: str
    size: int
    sha256: str
    uploaded_on: date
    uploaded_by: str


@dataclass(frozen=True, slots=True)
class ChangeView:
    kind: str
    amount: int
    note: str
    recorded_on: date
    recorded_by: str


@dataclass(frozen=True, slots=True)
class OrderView:
    reference: str
    supplier: str
    supplier_name: str
    agent: str
    order_no: str
    total: int
    reduced: int
    expected_delivery: date
    invoice_no: str | None
    status: str  # entered | confirmed | cancelled
    entered_on: date
    confirmed_on: date | None
    confirmed_by: str | None
    delivered_on: date | None
    lines: tuple[GoodsLine, ...]
    documents: tuple[DocumentView, ...]
    changes: tuple[ChangeView, ...]
    outcome: str = "created"

    @property
    def net(self) -> int:
        return model.net_value(self.total, self.reduced)


def order_view(tx: Tx, o: PurchaseOrder, outcome: str = "created") -> OrderView:
    supplier = tx.session.get(Supplier, o.supplier_id)
    agent = tx.session.get(Agent, o.agent_id)
    assert supplier is not None and agent is not None
    lines = tx.session.scalars(
        select(PurchaseOrderLine)
        .where(PurchaseOrderLine.order_id == o.id)
        .order_by(PurchaseOrderLine.n)
    )
    documents = tx.session.scalars(
        select(OrderDocument).where(OrderDocument.order_id == o.id).order_by(OrderDocument.id)
    )
    changes = tx.session.scalars(
        select(OrderChange).where(OrderChange.order_id == o.id).order_by(OrderChange.id)
    )
    return OrderView(
        PURCHASE_ORDER.of(o.id),
        supplier.code,
        supplier.name,
        agent.code,
        o.order_no,
        o.total,
        o.reduced,
        o.expected_delivery,
        o.invoice_no,
        o.status,
        o.entered_on,
        o.confirmed_on,
        o.confirmed_by,
        o.delivered_on,
        tuple(GoodsLine(x.description, x.quantity, x.unit_price) for x in lines),
        tuple(
            DocumentView(
                DOCUMENT.of(d.id),
                d.kind,
                d.filename,
                d.media_type,
                d.size,
                d.sha256,
                d.uploaded_on,
                d.uploaded_by,
            )
            for d in documents
        ),
        tuple(ChangeView(c.kind, c.amount, c.note, c.recorded_on, c.recorded_by) for c in changes),
        outcome,
    )


def order_row(tx: Tx, reference: str, *, lock: bool = False) -> PurchaseOrder:
    number = PURCHASE_ORDER.number_of(reference)
    found = tx.session.get(PurchaseOrder, number, with_for_update=lock)
    if found is None:
        raise YirongError("order_not_found", order=reference[:40])
    return found


def _checked_lines(lines: Sequence[GoodsLine]) -> tuple[GoodsLine, ...]:
    if not 0 < len(lines) <= MAX_LINES:
        raise YirongError("order_invalid", reason=f"an order has 1 to {MAX_LINES} lines of goods")
    for line in lines:
        if not 0 < len(line.description.strip()) <= 200:
            raise YirongError("order_invalid", reason="each line names its goods (1-200 chars)")
        if isinstance(line.quantity, bool) or not isinstance(line.quantity, int):
            raise YirongError("order_invalid", reason="a quantity is a whole number")
        if not 0 < line.quantity <= 1_000_000:
            raise YirongError("order_invalid", reason="a quantity is 1 to 1,000,000")
        check_amount(line.unit_price)
    check_amount(sum(line.amount for line in lines))
    return tuple(lines)


@transactional
def enter_order(
    tx: Tx,
    agent_code: str,
    supplier_code: str,
    order_no: str,
    lines: Sequence[GoodsLine],
    expected_delivery: date,
    key: str,
) -> OrderView:
    """The agent enters an order from a supplier. The same key again answers with the
    first order; the supplier's order number entered by anyone before is refused."""
    agent = agent_row(tx, agent_code)
    earlier = tx.session.scalars(
        select(PurchaseOrder).where(
            PurchaseOrder.agent_id == agent.id, PurchaseOrder.request_key == key
        )
    ).one_or_none()
    if earlier is not None:
        return order_view(tx, earlier, "exists")
    order_no = order_no.strip()
    if not 0 < len(order_no) <= 64 or not order_no.isprintable():
        raise YirongError("order_invalid", reason="an order number is 1 to 64 characters")
    goods = _checked_lines(lines)
    today = business_date_of(tx)
    if expected_delivery < today:
        raise YirongError("order_invalid", reason="the expected delivery is today or later")
    supplier = supplier_row(tx, supplier_code)
    order = PurchaseOrder(
        supplier_id=supplier.id,
        agent_id=agent.id,
        order_no=order_no,
        request_key=key,
        total=sum(line.amount for line in goods),
        reduced=0,
        expected_delivery=expected_delivery,
        status="entered",
        entered_on=today,
    )
    tx.session.add(order)
    try:
        tx.session.flush()
    except IntegrityError as exc:  # entered before, or by a request racing this one
        raise YirongError("order_taken", supplier=supplier_code, order_no=order_no) from exc
    tx.session.add_all(
        PurchaseOrderLine(
            order_id=order.id,
            n=n,
            description=line.description.strip(),
            quantity=line.quantity,
            unit_price=line.unit_price,
            amount=line.amount,
        )
        for n, line in enumerate(goods, start=1)
    )
    tx.session.flush()
    return order_view(tx, order)


def _of_supplier(tx: Tx, order: PurchaseOrder, supplier_code: str | None) -> None:
    """A supplier acts on its own orders only; another's answers as not found."""
    if supplier_code is not None and supplier_row(tx, supplier_code).id != order.supplier_id:
        raise YirongError("order_not_found", order=PURCHASE_ORDER.of(order.id))


@transactional
def confirm_order(
    tx: Tx, reference: str, *, by: str, supplier_code: str | None = None
) -> OrderView:
    """The supplier confirms the order is real (or an operator, on its behalf, says so:
    ``supplier_code`` None). Confirming again changes nothing."""
    order = order_row(tx, reference, lock=True)
    _of_supplier(tx, order, supplier_code)
    if order.status == "cancelled":
        raise YirongError("order_not_open", order=reference)
    if order.status == "entered":
        order.status, order.confirmed_on, order.confirmed_by = (
            "confirmed",
            business_date_of(tx),
            by,
        )
    return order_view(tx, order)


@transactional
def set_invoice(
    tx: Tx, reference: str, invoice_no: str, *, supplier_code: str | None = None
) -> OrderView:
    """The supplier's invoice number (发票号码) for the order: unique on the platform."""
    order = order_row(tx, reference, lock=True)
    _of_supplier(tx, order, supplier_code)
    invoice_no = invoice_no.strip()
    if not 0 < len(invoice_no) <= 64 or not invoice_no.isprintable():
        raise YirongError("order_invalid", reason="an invoice number is 1 to 64 characters")
    if order.invoice_no == invoice_no:
        return order_view(tx, order)
    if order.invoice_no is not None:
        raise YirongError("order_invalid", reason="the order has an invoice number already")
    order.invoice_no = invoice_no
    try:
        tx.session.flush()
    except IntegrityError as exc:
        raise YirongError("invoice_taken", invoice_no=invoice_no) from exc
    return order_view(tx, order)


@transactional
def attach_document(
    tx: Tx,
    reference: str,
    kind: str,
    filename: str,
    media_type: str,
    content: bytes,
    *,
    by: str,
    agent_code: str | None = None,
    supplier_code: str | None = None,
) -> DocumentView:
    """Keep a document of the order with its SHA-256 (the same file again: the first)."""
    order = order_row(tx, reference, lock=True)
    if agent_code is not None and agent_row(tx, agent_code).id != order.agent_id:
        raise YirongError("order_not_found", order=reference)
    _of_supplier(tx, order, supplier_code)
    if kind not in model.DOCUMENT_KINDS or not 0 < len(content) <= MAX_DOCUMENT_BYTES:
        raise YirongError("document_invalid", kind=kind[:24], size=len(content))
    name = filename.strip().replace("/", "_").replace("\\", "_")[:200] or "document"
    digest = hashlib.sha256(content).hexdigest()
    found = tx.session.scalars(
        select(OrderDocument).where(
            OrderDocument.order_id == order.id, OrderDocument.sha256 == digest
        )
    ).one_or_none()
    if found is None:
        found = OrderDocument(
            order_id=order.id,
            kind=kind,
            filename=name,
            media_type=media_type[:100] or "application/octet-stream",
            size=len(content),
            sha256=digest,
            content=content,
            uploaded_on=business_date_of(tx),
            uploaded_by=by[:80],
        )
        tx.session.add(found)
        tx.session.flush()
    return DocumentView(
        DOCUMENT.of(found.id),
        found.kind,
        found.filename,
        found.media_type,
        found.size,
        found.sha256,
        found.uploaded_on,
        found.uploaded_by,
    )


@read_only
def document_content(tx: Tx, reference: str, document: str) -> tuple[DocumentView, bytes]:
    order = order_row(tx, reference)
    found = tx.session.get(OrderDocument, DOCUMENT.number_of(document))
    if found is None or found.order_id != order.id:
        raise YirongError("order_not_found", order=reference, document=document[:40])
    view = DocumentView(
        document,
        found.kind,
        found.filename,
        found.media_type,
        found.size,
        found.sha256,
        found.uploaded_on,
        found.uploaded_by,
    )
    return view, found.content


def record_change_in(
    tx: Tx, order: PurchaseOrder, kind: str, amount: int, note: str, key: str, *, by: str
) -> bool:
    """Take ``amount`` off the order (once under ``key``); True if it was recorded now.
    The whole value taken off cancels it."""
    if kind not in model.CHANGE_KINDS:
        raise YirongError("order_change_invalid", kind=kind[:16])
    amount = check_amount(amount)
    if tx.session.scalars(
        select(OrderChange.id).where(
            OrderChange.order_id == order.id, OrderChange.request_key == key
        )
    ).first():
        return False
    if order.status == "cancelled":
        raise YirongError("order_not_open", order=PURCHASE_ORDER.of(order.id))
    if order.reduced + amount > order.total:
        raise YirongError(
            "order_change_exceeds_order",
            amount=amount,
            remaining=model.net_value(order.total, order.reduced),
        )
    tx.session.add(
        OrderChange(
            order_id=order.id,
            request_key=key,
            kind=kind,
            amount=amount,
            note=note.strip()[:200],
            recorded_on=business_date_of(tx),
            recorded_by=by[:80],
        )
    )
    order.reduced += amount
    if order.reduced == order.total:
        order.status = "cancelled"
    tx.session.flush()
    return True


@transactional
def record_change(
    tx: Tx,
    reference: str,
    kind: str,
    amount: int,
    note: str,
    key: str,
    *,
    by: str,
    supplier_code: str | None = None,
) -> OrderView:
    """Part of the order cancelled, not delivered or returned, before the supplier was
    paid (after, the supplier's refund records it: ``order_change_by_refund``)."""
    order = order_row(tx, reference, lock=True)
    _of_supplier(tx, order, supplier_code)
    paid = tx.session.scalar(
        select(func.count()).where(
            OrderFinancing.order_id == order.id, OrderFinancing.status.in_(PAID_OUT)
        )
    )
    if paid:
        raise YirongError("order_change_by_refund", order=reference)
    record_change_in(tx, order, kind, amount, note, key, by=by)
    return order_view(tx, order)


@transactional
def mark_delivered(
    tx: Tx, reference: str, *, by: str, supplier_code: str | None = None
) -> OrderView:
    """The goods arrived (the delivery receipt 签收单 is the proof, attached with it)."""
    del by  # the receipt's uploader is on record with the document
    order = order_row(tx, reference, lock=True)
    _of_supplier(tx, order, supplier_code)
    if order.status == "cancelled":
        raise YirongError("order_not_open", order=reference)
    has_receipt = tx.session.scalar(
        select(func.count()).where(
            OrderDocument.order_id == order.id, OrderDocument.kind == "delivery_receipt"
        )
    )
    if not has_receipt:
        raise YirongError("delivery_receipt_missing", order=reference)
    if order.delivered_on is None:
        order.delivered_on = business_date_of(tx)
    return order_view(tx, order)


@read_only
def get_order(tx: Tx, reference: str) -> OrderView:
    return order_view(tx, order_row(tx, reference))


@read_only
def orders_of(tx: Tx, agent_code: str) -> list[OrderView]:
    agent = agent_row(tx, agent_code)
    rows = tx.session.scalars(
        select(PurchaseOrder).where(PurchaseOrder.agent_id == agent.id).order_by(PurchaseOrder.id)
    )
    return [order_view(tx, o) for o in rows]
