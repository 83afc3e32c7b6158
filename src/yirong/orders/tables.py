"""Order financing (订单融资): suppliers, the purchase orders agents enter and suppliers
confirm, their documents and changes, and each order's financing. The loan itself is
a drawdown on the agent's order facility (``loans``): this package holds what is
particular to an order, and the uniqueness that keeps one order financed once."""

from __future__ import annotations

from datetime import date

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from yirong.infra.base import Base, Id
from yirong.infra.opaque import PublicRef


class Supplier(Base):
    """A firm that sells goods to agents (the carrier or a distributor), registered by
    an operator. Nothing is paid to its settlement account before it is verified."""

    __tablename__ = "suppliers"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    uscc: Mapped[str] = mapped_column(String(18), unique=True)  # 统一社会信用代码
    bank_account: Mapped[str] = mapped_column(String(40))
    bank_name: Mapped[str] = mapped_column(String(100))
    # Set when an operator verified the account (a small test transfer, a bank letter):
    # a change of account clears it.
    account_verified_on: Mapped[date | None] = mapped_column(Date)
    account_verified_by: Mapped[str | None] = mapped_column(String(80))
    whitelisted: Mapped[bool] = mapped_column(Boolean, default=True)
    registered_on: Mapped[date] = mapped_column(Date)


class PurchaseOrder(Base):
    """An agent's purchase order (采购订单) from a supplier. Unique by supplier and order
    number on the whole platform; its invoice number, once given, is unique too.

    status: entered -> confirmed (by the supplier, or an operator on its behalf);
    cancelled when changes took its whole value off."""

    __tablename__ = "purchase_orders"
    __table_args__ = (
        UniqueConstraint("supplier_id", "order_no"),
        UniqueConstraint("agent_id", "request_key"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id"))
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"), index=True)
    order_no: Mapped[str] = mapped_column(String(64))
    request_key: Mapped[str] = mapped_column(String(128))
    total: Mapped[int] = mapped_column(BigInteger)  # fen: the sum of its lines
    reduced: Mapped[int] = mapped_column(BigInteger, default=0)  # cancelled, short, returned
    expected_delivery: Mapped[date] = mapped_column(Date)
    invoice_no: Mapped[str | None] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16))
    entered_on: Mapped[date] = mapped_column(Date)
    confirmed_on: Mapped[date | None] = mapped_column(Date)
    confirmed_by: Mapped[str | None] = mapped_column(String(80))
    delivered_on: Mapped[date | None] = mapped_column(Date)


class PurchaseOrderLine(Base):
    """One line of goods: what, how many, at what unit price (fen)."""

    __tablename__ = "purchase_order_lines"

    order_id: Mapped[int] = mapped_column(ForeignKey("purchase_orders.id"), primary_key=True)
    n: Mapped[int] = mapped_column(Integer, primary_key=True)
    description: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[int] = mapped_column(BigInteger)
    amount: Mapped[int] = mapped_column(BigInteger)


class OrderDocument(Base):
    """A document of the order (contract 合同, invoice 发票, delivery receipt 签收单),
    kept as uploaded with its SHA-256: what the funder saw is provably what it is."""

    __tablename__ = "order_documents"
    __table_args__ = (UniqueConstraint("order_id", "sha256"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("purchase_orders.id"), index=True)
    kind: Mapped[str] = mapped_column(String(24))  # contract | invoice | delivery_receipt
    filename: Mapped[str] = mapped_column(String(200))
    media_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_on: Mapped[date] = mapped_column(Date)
    uploaded_by: Mapped[str] = mapped_column(String(80))


class OrderChange(Base):
    """Dilution: part of the order cancelled, not delivered, or returned. Append-only;
    the order's ``reduced`` is their sum."""

    __tablename__ = "order_changes"
    __table_args__ = (UniqueConstraint("order_id", "request_key"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("purchase_orders.id"), index=True)
    request_key: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16))  # cancelled | short_delivery | returned
    amount: Mapped[int] = mapped_column(BigInteger)
    note: Mapped[str] = mapped_column(String(200))
    recorded_on: Mapped[date] = mapped_column(Date)
    recorded_by: Mapped[str] = mapped_column(String(80))


# A financing in any of these states has its order: one per order, ever, whatever the
# funder (a rejected or cancelled request leaves the order free to ask again).
HOLDS_ORDER = ("requested", "approved", "paying", "paid", "settled", "defaulted")


class OrderFinancing(Base):
    """An advance against one order under the agent's order facility.

    status: requested -> approved (the funder said yes: its drawdown is ordered, the
    money is asked for) -> paying (the money came; the payout to the supplier left) ->
    paid (the bank shows the supplier paid: the loan runs) -> settled (repaid, margin
    released) | defaulted (its margin went to the debt). Before the payout: rejected
    or cancelled. The partial unique index keeps one live financing per order."""

    __tablename__ = "order_financings"
    __table_args__ = (
        UniqueConstraint("agent_id", "request_key"),
        Index(
            "uq_order_financings_live",
            "order_id",
            unique=True,
            postgresql_where=text(
                "status IN ('requested', 'approved', 'paying', 'paid', 'settled', 'defaulted')"
            ),
            sqlite_where=text(
                "status IN ('requested', 'approved', 'paying', 'paid', 'settled', 'defaulted')"
            ),
        ),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("purchase_orders.id"))
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"), index=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("credit_lines.id"))  # the order facility
    funder_id: Mapped[int] = mapped_column(ForeignKey("funders.id"), index=True)
    request_key: Mapped[str] = mapped_column(String(128))
    advance: Mapped[int] = mapped_column(BigInteger)  # the funder's money, lent
    own_part: Mapped[int] = mapped_column(BigInteger)  # the agent's part of the order
    margin: Mapped[int] = mapped_column(BigInteger)  # 保证金, kept until repaid
    term_days: Mapped[int] = mapped_column(Integer)  # to delivery, plus the sell-through
    status: Mapped[str] = mapped_column(String(16))
    # The wallet's hold on the agent's part and the margin, posted at the payout.
    hold_entry_id: Mapped[int | None] = mapped_column(BigInteger)
    drawdown_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    payment_id: Mapped[int | None] = mapped_column(BigInteger)  # the payout to the supplier
    refunded: Mapped[int] = mapped_column(BigInteger, default=0)  # the supplier's refunds
    requested_on: Mapped[date] = mapped_column(Date)
    decided_on: Mapped[date | None] = mapped_column(Date)
    paid_on: Mapped[date | None] = mapped_column(Date)
    closed_on: Mapped[date | None] = mapped_column(Date)
    reason: Mapped[str | None] = mapped_column(String(200))


# Public references, on the wire and on screen: ids that do not count.
PURCHASE_ORDER = PublicRef("po_", "purchase_order", "order_not_found")
FINANCING = PublicRef("of_", "order_financing", "financing_not_found")
DOCUMENT = PublicRef("od_", "order_document", "order_not_found")
