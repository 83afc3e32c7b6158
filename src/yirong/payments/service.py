"""Outbound payments, each within the caller's transaction: the capability that owns
the money (wallets for withdrawals and payouts, reconciliation for returns) instructs
one; the reconciliation settles it when the bank's debit line appears, or voids it
when the bank returns or refuses it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from yirong.books.service import RESERVE, business_date_of
from yirong.books.tables import BANK_LINE
from yirong.errors import YirongError
from yirong.infra.db import Tx, read_only
from yirong.ledger import service as ledger
from yirong.ledger.model import Account, Leg, NewEntry, PostPending, Side, VoidPending
from yirong.ledger.service import PostResult
from yirong.payments.tables import Payment

PREFIX = "YP"  # what our payment references start with, on our files and the bank's lines
KINDS = ("withdrawal", "payout", "return", "supplier")
# The ledger's entry codes: the hold, its settlement and its release, per kind. A
# funder's payout is a withdrawal from its payment account.
CODES = {
    "withdrawal": ("wallet.withdrawal", "wallet.withdrawal.confirm", "wallet.withdrawal.fail"),
    "payout": ("wallet.withdrawal", "wallet.withdrawal.confirm", "wallet.withdrawal.fail"),
    "return": ("bank.return", "bank.return.confirm", "bank.return.fail"),
    # An order's payout to its supplier (受托支付), from the order escrow.
    "supplier": ("order.payout", "order.payout.confirm", "order.payout.fail"),
}
# What a capability above does when the bank settles or voids one of its payments
# (given by ``yirong.wiring``): order financing lends the advance once the supplier is
# paid, and takes the payout back when the bank refuses or returns it.
Settled = Callable[[Tx, Payment], None]
_on_settled: dict[str, Settled] = {}
_on_voided: dict[str, Settled] = {}


def on_settled(kind: str, settled: Settled, voided: Settled) -> None:
    _on_settled[kind], _on_voided[kind] = settled, voided


@dataclass(frozen=True, slots=True)
class Payee:
    name: str
    account: str
    bank: str


@dataclass(frozen=True, slots=True)
class PaymentView:
    id: int
    reference: str
    kind: str
    withdrawal_id: int  # the ledger hold's entry id
    source: str
    amount: int
    status: str  # instructed | settled | returned | failed
    instructed_on: date
    settled_on: date | None
    returned_on: date | None
    payee_name: str | None
    payee_account: str | None
    payee_bank: str | None
    bank_line_id: str | None  # the settling line's public reference (BANK_LINE)
    note: str | None


def view(p: Payment) -> PaymentView:
    return PaymentView(
        p.id,
        p.reference,
        p.kind,
        p.hold_entry_id,
        p.source,
        p.amount,
        p.status,
        p.instructed_on,
        p.settled_on,
        p.returned_on,
        p.payee_name,
        p.payee_account,
        p.payee_bank,
        None if p.bank_line_id is None else BANK_LINE.of(p.bank_line_id),
        p.note,
    )


def reference_for(hold_entry_id: int) -> str:
    """Derived from the hold, so that a retried instruction carries the same reference."""
    return f"{PREFIX}{hold_entry_id:012d}"


def instruct_in(
    tx: Tx,
    *,
    kind: str,
    source: Account,
    amount: int,
    key: str,
    payee: Payee | None = None,
    bank_account: str = RESERVE,
) -> tuple[PaymentView, PostResult]:
    """Hold ``amount`` on ``source`` and record the instruction. The hold does not
    expire: only the bank's answer resolves it (a hold released on a timer while the
    bank pays after all would pay the money twice). The same key answers with the
    first instruction."""
    if kind not in KINDS:
        raise ValueError(kind)
    bank = ledger.account_by_code(tx, bank_account)
    posted = ledger.post(
        tx,
        NewEntry(
            key,
            CODES[kind][0],
            (Leg(source.id, Side.DEBIT, amount), Leg(bank.id, Side.CREDIT, amount)),
            pending=True,
        ),
    )
    assert posted.entry_id is not None
    if not posted.created:
        found = tx.session.scalars(
            select(Payment).where(Payment.hold_entry_id == posted.entry_id)
        ).one()
        return view(found), posted
    payment = Payment(
        reference=reference_for(posted.entry_id),
        kind=kind,
        hold_entry_id=posted.entry_id,
        source=source.code,
        bank_account=bank_account,
        amount=amount,
        payee_name=payee.name if payee else None,
        payee_account=payee.account if payee else None,
        payee_bank=payee.bank if payee else None,
        status="instructed",
        instructed_on=business_date_of(tx),
    )
    tx.session.add(payment)
    tx.session.flush()
    return view(payment), posted


def payment_row(tx: Tx, *, reference: str | None = None, hold_id: int | None = None) -> Payment:
    query = select(Payment).with_for_update()
    if reference is not None:
        query = query.where(Payment.reference == reference)
    else:
        query = query.where(Payment.hold_entry_id == hold_id)
    found = tx.session.scalars(query).one_or_none()
    if found is None:
        raise YirongError("payment_not_found", reference=reference, withdrawal=hold_id)
    return found


def settle_in(tx: Tx, payment: Payment, *, line_id: int) -> PostResult:
    """The bank's statement shows the debit: the hold is posted (once)."""
    if payment.status != "instructed":
        raise YirongError("payment_not_open", reference=payment.reference, status=payment.status)
    posted = ledger.post(
        tx,
        PostPending(f"{payment.reference}:settled", CODES[payment.kind][1], payment.hold_entry_id),
    )
    payment.status, payment.settled_on, payment.bank_line_id = (
        "settled",
        business_date_of(tx),
        line_id,
    )
    settled = _on_settled.get(payment.kind)
    if settled is not None:
        settled(tx, payment)
    return posted


def void_in(
    tx: Tx, payment: Payment, *, status: str, note: str, line_id: int | None = None
) -> PostResult:
    """The bank refused the payment (``failed``) or sent it back (``returned``, by a
    return line): the hold is released and the money is where it was before."""
    if payment.status != "instructed":
        raise YirongError("payment_not_open", reference=payment.reference, status=payment.status)
    posted = ledger.post(
        tx,
        VoidPending(
            f"{payment.reference}:{status}",
            CODES[payment.kind][2],
            payment.hold_entry_id,
            memo=note[:200],
        ),
    )
    payment.status, payment.note = status, note[:200]
    if status == "returned":
        payment.returned_on, payment.return_line_id = business_date_of(tx), line_id
    voided = _on_voided.get(payment.kind)
    if voided is not None:
        voided(tx, payment)
    return posted


def open_payments_in(tx: Tx, *, source: str | None = None) -> list[PaymentView]:
    query = select(Payment).where(Payment.status == "instructed").order_by(Payment.id)
    if source is not None:
        query = query.where(Payment.source == source)
    return [view(p) for p in tx.session.scalars(query)]


open_payments = read_only(open_payments_in)


@read_only
def payments(
    tx: Tx, *, status: str | None = None, after: int = 0, limit: int = 100
) -> list[PaymentView]:
    query = select(Payment).where(Payment.id > after).order_by(Payment.id).limit(limit)
    if status is not None:
        query = query.where(Payment.status == status)
    return [view(p) for p in tx.session.scalars(query)]
