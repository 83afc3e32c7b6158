"""Financing an order (订单融资): the agent asks for an advance against one of its
orders under its order facility; the funder approves, and its drawdown is ordered;
the funder's money arrives in the reserve account quoting it (matched from the bank
statement, like any funding) and waits in escrow; the payout gate checks everything;
the advance and the agent's part leave in one payment to the supplier's verified
account (受托支付), never through the agent's wallet; and when the bank shows the
supplier paid, the loan runs. The margin (保证金) stays in escrow until the advance
is repaid (then it goes back to the wallet), or the loan falls overdue (then it goes
to the debt, through the wallet's sweep).

Each use case is one transaction; the order's single financing is held by the
database (a partial unique index), so two requests racing for one order cannot
both win."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from yirong.agents.service import agent_row
from yirong.agents.tables import Agent
from yirong.books.service import ORDER_ESCROW, business_date_of, open_house_account
from yirong.credit.tables import CreditLine
from yirong.errors import YirongError
from yirong.funders.tables import Funder, FunderProduct
from yirong.infra.db import Tx, read_only, transactional
from yirong.infra.outbox import tell
from yirong.ledger import service as ledger
from yirong.ledger.model import Account, Leg, NewEntry, Phase, PostPending, Side, VoidPending
from yirong.loans import model as loans
from yirong.loans.drawdowns import active_facility, new_drawdown_in, used_on_line
from yirong.loans.funding import lend_paid_out_in
from yirong.loans.tables import Drawdown
from yirong.money import check_amount, ppm_to_rate
from yirong.orders import model
from yirong.orders.purchase import order_row
from yirong.orders.tables import (
    FINANCING,
    HOLDS_ORDER,
    PURCHASE_ORDER,
    OrderDocument,
    OrderFinancing,
    PurchaseOrder,
    Supplier,
)
from yirong.payments import service as payments
from yirong.payments.tables import Payment
from yirong.pricing.schedule import Method
from yirong.wallets.service import frozen_by_order_in, repay_overdue_from, wallet_account


@dataclass(frozen=True, slots=True)
class FinancingView:
    reference: str
    order: str  # the purchase order's reference
    order_no: str
    supplier: str
    agent: str
    funder: str
    advance: int
    own_part: int
    margin: int
    term_days: int
    status: str
    requested_on: date
    decided_on: date | None
    paid_on: date | None
    closed_on: date | None
    reason: str | None
    refunded: int
    # The loan, once ordered: the reference the funder's transfer quotes, its state.
    order_ref: str | None = None
    loan_status: str | None = None
    principal: int = 0
    due_date: date | None = None
    payment: str | None = None  # the payout's reference (YP...), once instructed
    outcome: str = "created"


def view(tx: Tx, f: OrderFinancing, outcome: str = "created") -> FinancingView:
    order = tx.session.get(PurchaseOrder, f.order_id)
    assert order is not None
    supplier = tx.session.get(Supplier, order.supplier_id)
    agent = tx.session.get(Agent, f.agent_id)
    funder = tx.session.get(Funder, f.funder_id)
    assert supplier is not None and agent is not None and funder is not None
    loan = None if f.drawdown_id is None else tx.session.get(Drawdown, f.drawdown_id)
    payment = None if f.payment_id is None else tx.session.get(Payment, f.payment_id)
    return FinancingView(
        FINANCING.of(f.id),
        PURCHASE_ORDER.of(order.id),
        order.order_no,
        supplier.code,
        agent.code,
        funder.code,
        f.advance,
        f.own_part,
        f.margin,
        f.term_days,
        f.status,
        f.requested_on,
        f.decided_on,
        f.paid_on,
        f.closed_on,
        f.reason,
        f.refunded,
        None if loan is None else loan.order_ref,
        None if loan is None else loan.status,
        0 if loan is None else loan.principal,
        None if loan is None else loan.due_date,
        None if payment is None else payment.reference,
        outcome,
    )


@dataclass(frozen=True, slots=True)
class FacilityTerms:
    """What the agent's order facility's product advances and holds."""

    funder: str
    advance_rate_ppm: int
    margin_ppm: int

    @property
    def advance_rate(self) -> Decimal:
        return ppm_to_rate(self.advance_rate_ppm)

    @property
    def margin_rate(self) -> Decimal:
        return ppm_to_rate(self.margin_ppm)


@read_only
def facility_terms(tx: Tx, agent_code: str) -> FacilityTerms | None:
    """The agent's active order facility's advance rate and margin (None: none)."""
    line = active_facility(tx, agent_row(tx, agent_code).id)
    if line is None:
        return None
    product = tx.session.get(FunderProduct, line.product_id)
    funder = tx.session.get(Funder, line.funder_id)
    assert product is not None and funder is not None
    return FacilityTerms(funder.code, product.advance_rate_ppm or 0, product.margin_ppm or 0)


def escrow_account(tx: Tx) -> Account:
    """The order escrow (books opened before order financing open it on first use)."""
    try:
        return ledger.account_by_code(tx, ORDER_ESCROW)
    except YirongError as exc:
        if exc.code != "account_not_found":
            raise
        open_house_account(tx, ORDER_ESCROW, business_date_of(tx))
        return ledger.account_by_code(tx, ORDER_ESCROW)


def financing_row(tx: Tx, reference: str, *, lock: bool = True) -> OrderFinancing:
    found = tx.session.get(OrderFinancing, FINANCING.number_of(reference), with_for_update=lock)
    if found is None:
        raise YirongError("financing_not_found", financing=reference[:40])
    return found


def _facility(tx: Tx, agent_id: int, agent_code: str) -> tuple[CreditLine, FunderProduct]:
    line = active_facility(tx, agent_id, lock=True)
    if line is None:
        raise YirongError("facility_not_active", agent=agent_code)
    if line.valid_until < business_date_of(tx):
        raise YirongError("line_expired", valid_until=str(line.valid_until))
    product = tx.session.get(FunderProduct, line.product_id)
    assert product is not None and product.advance_rate_ppm is not None
    return line, product


def _asked_on_facility(tx: Tx, line_id: int) -> int:
    """Advances asked for and not yet ordered from the funder (no drawdown yet)."""
    return int(
        tx.session.scalar(
            select(func.coalesce(func.sum(OrderFinancing.advance), 0)).where(
                OrderFinancing.line_id == line_id, OrderFinancing.status == "requested"
            )
        )
        or 0
    )


def _overdue(tx: Tx, agent_id: int) -> bool:
    return bool(
        tx.session.scalar(
            select(func.count()).where(
                Drawdown.agent_id == agent_id, Drawdown.status == loans.DrawdownStatus.OVERDUE
            )
        )
    )


def _others_on(tx: Tx, order: PurchaseOrder, financing_id: int | None) -> int:
    """Financings holding this order, or another order with its invoice number."""
    orders = [order.id]
    if order.invoice_no is not None:
        orders = list(
            tx.session.scalars(
                select(PurchaseOrder.id).where(PurchaseOrder.invoice_no == order.invoice_no)
            )
        )
    query = select(func.count()).where(
        OrderFinancing.order_id.in_(orders), OrderFinancing.status.in_(HOLDS_ORDER)
    )
    if financing_id is not None:
        query = query.where(OrderFinancing.id != financing_id)
    return int(tx.session.scalar(query) or 0)


def _hold_key(f: OrderFinancing) -> str:
    return f"order:{FINANCING.of(f.id)}:held"


@transactional
def request_financing(
    tx: Tx,
    agent_code: str,
    order_reference: str,
    advance: int,
    key: str,
    *,
    sell_through_days: int = model.SELL_THROUGH_DAYS,
) -> FinancingView:
    """Ask the facility's funder for ``advance`` fen against the order: at most the
    product's advance rate of what remains of it, within the facility; the agent's
    part of the order and the margin are held in the wallet from now to the payout.
    The same key again answers with the first request."""
    agent = agent_row(tx, agent_code)
    earlier = tx.session.scalars(
        select(OrderFinancing).where(
            OrderFinancing.agent_id == agent.id, OrderFinancing.request_key == key
        )
    ).one_or_none()
    if earlier is not None:
        if earlier.advance != advance or PURCHASE_ORDER.of(earlier.order_id) != order_reference:
            raise YirongError("exists_with_different_request", key=key)
        return view(tx, earlier, "exists")
    advance = check_amount(advance)
    if _overdue(tx, agent.id):
        raise YirongError("loan_overdue", agent=agent_code)
    if frozen_by_order_in(tx, f"agent:{agent_code}"):
        raise YirongError("frozen_by_legal_order", agent=agent_code)
    line, product = _facility(tx, agent.id, agent_code)
    order = order_row(tx, order_reference, lock=True)
    if order.agent_id != agent.id:
        raise YirongError("order_not_found", order=order_reference)
    if order.status == "cancelled":
        raise YirongError("order_not_open", order=order_reference)
    supplier = tx.session.get(Supplier, order.supplier_id)
    assert supplier is not None
    if not supplier.whitelisted:
        raise YirongError("supplier_not_whitelisted", supplier=supplier.code)
    if _others_on(tx, order, None):
        raise YirongError("order_already_financed", order=order_reference)
    net = model.net_value(order.total, order.reduced)
    allowed = model.max_advance(net, product.advance_rate_ppm or 0)
    if advance > allowed:
        raise YirongError("advance_over_rate", advance=advance, allowed=allowed, order_value=net)
    today = business_date_of(tx)
    term = model.term_days(today, order.expected_delivery, sell_through_days)
    longest = min(product.max_term_days, line.max_term_days)
    if sell_through_days < 0 or not product.min_term_days <= term <= longest:
        raise YirongError(
            "term_invalid", term_days=term, shortest=product.min_term_days, longest=longest
        )
    available = line.credit_limit - used_on_line(tx, line.id) - _asked_on_facility(tx, line.id)
    if advance > available:
        raise YirongError("exceeds_available_limit", amount=advance, available=available)
    parts = model.split(net, advance, product.margin_ppm or 0)
    financing = OrderFinancing(
        order_id=order.id,
        agent_id=agent.id,
        line_id=line.id,
        funder_id=line.funder_id,
        request_key=key,
        advance=advance,
        own_part=parts.own_part,
        margin=parts.margin,
        term_days=term,
        status="requested",
        refunded=0,
        requested_on=today,
    )
    tx.session.add(financing)
    try:
        tx.session.flush()  # on PostgreSQL a racing request for the order waits here
    except IntegrityError as exc:
        raise YirongError("order_already_financed", order=order_reference) from exc
    if parts.held:
        financing.hold_entry_id = _hold(tx, financing, agent_code, parts.held)
    funder = tx.session.get(Funder, line.funder_id)
    assert funder is not None
    tell(
        tx,
        f"funder:{funder.code}",
        "order_financing.requested",
        financing.id,
        today,
        financing=FINANCING.of(financing.id),
        order=order_reference,
        advance=advance,
        order_value=net,
    )
    return view(tx, financing)


def _hold(tx: Tx, f: OrderFinancing, agent_code: str, amount: int) -> int:
    """Hold the agent's part and margin on the wallet (refused, with nothing recorded,
    if the wallet does not hold them: the agent may top up and ask again)."""
    wallet = wallet_account(tx, f"agent:{agent_code}")
    available = ledger.balance_of(tx, wallet).available
    if available < amount:
        raise YirongError("margin_insufficient", needed=amount, available=available)
    posted = ledger.post(
        tx,
        NewEntry(
            _hold_key(f),
            "order.hold",
            (Leg(wallet.id, Side.DEBIT, amount), Leg(escrow_account(tx).id, Side.CREDIT, amount)),
            pending=True,
            memo=FINANCING.of(f.id),
        ),
    )
    assert posted.entry_id is not None
    return posted.entry_id


def _release_hold(tx: Tx, f: OrderFinancing, why: str) -> None:
    if f.hold_entry_id is not None:
        ledger.post(
            tx,
            VoidPending(
                f"{_hold_key(f)}:released", "order.hold.release", f.hold_entry_id, memo=why
            ),
        )


@transactional
def approve_financing(tx: Tx, funder_code: str, reference: str) -> FinancingView:
    """The funder says yes: its drawdown is ordered, and the funder is told the
    reference its transfer must quote. Approving again changes nothing."""
    f = _of_funder(tx, funder_code, reference)
    if f.status == "approved":
        return view(tx, f, "exists")
    if f.status != "requested":
        raise YirongError("financing_not_open", financing=reference, status=f.status)
    order = tx.session.get(PurchaseOrder, f.order_id, with_for_update=True)
    assert order is not None
    line = tx.session.get(CreditLine, f.line_id, with_for_update=True)
    product = None if line is None else tx.session.get(FunderProduct, line.product_id)
    if line is None or product is None or line.status != "active":
        raise YirongError("facility_not_active", financing=reference)
    allowed = model.max_advance(
        model.net_value(order.total, order.reduced), product.advance_rate_ppm or 0
    )
    if f.advance > allowed:
        raise YirongError("advance_over_rate", advance=f.advance, allowed=allowed)
    drawdown = new_drawdown_in(
        tx, line, product, f.advance, f.term_days, f"order:{reference}", fee=0, method=Method.BULLET
    )
    today = business_date_of(tx)
    f.status, f.decided_on, f.drawdown_id = "approved", today, drawdown.id
    tell(
        tx,
        f"funder:{funder_code}",
        "drawdown.ordered",
        drawdown.id,
        today,
        order_ref=drawdown.order_ref,
        amount=f.advance,
        term_days=f.term_days,
        fund_by=drawdown.fund_by,
        financing=reference,
    )
    return view(tx, f)


def _of_funder(tx: Tx, funder_code: str, reference: str) -> OrderFinancing:
    f = financing_row(tx, reference)
    funder = tx.session.get(Funder, f.funder_id)
    if funder is None or funder.code != funder_code:  # another's says nothing
        raise YirongError("financing_not_found", financing=reference)
    return f


@transactional
def reject_financing(tx: Tx, funder_code: str, reference: str, reason: str) -> FinancingView:
    """The funder declines: the wallet's hold is released and the order is free."""
    f = _of_funder(tx, funder_code, reference)
    if f.status != "requested":
        raise YirongError("financing_not_open", financing=reference, status=f.status)
    _release_hold(tx, f, "rejected by the funder")
    f.status, f.decided_on, f.closed_on = "rejected", business_date_of(tx), business_date_of(tx)
    f.reason = reason.strip()[:200] or "rejected"
    return view(tx, f)


@transactional
def cancel_financing(tx: Tx, agent_code: str, reference: str) -> FinancingView:
    """The agent calls the financing off before the supplier is paid: the hold is
    released; an ordered drawdown is cancelled, or, if the funder's money came, that
    money goes back to the funder's account (its payout that evening returns it)."""
    agent = agent_row(tx, agent_code)
    f = financing_row(tx, reference)
    if f.agent_id != agent.id:
        raise YirongError("financing_not_found", financing=reference)
    if f.status not in ("requested", "approved"):
        raise YirongError("financing_not_open", financing=reference, status=f.status)
    today = business_date_of(tx)
    if f.drawdown_id is not None:
        d = tx.session.get(Drawdown, f.drawdown_id, with_for_update=True)
        assert d is not None
        if d.status == loans.DrawdownStatus.ESCROWED:
            _return_escrow(tx, d)
            d.status = loans.after(d.status, loans.Event.CALLED_OFF, drawdown=d.id)
        else:
            d.status = loans.after(d.status, loans.Event.CANCELLED, drawdown=d.id)
        d.closed_on, d.reason = today, "financing_cancelled"
    _release_hold(tx, f, "cancelled by the agent")
    f.status, f.closed_on, f.reason = "cancelled", today, "agent_cancelled"
    return view(tx, f)


def _return_escrow(tx: Tx, d: Drawdown) -> None:
    funder = tx.session.get(Funder, d.funder_id)
    assert funder is not None
    ledger.post(
        tx,
        NewEntry(
            f"unlend:{d.order_ref}",
            "order.escrow.return",
            (
                Leg(escrow_account(tx).id, Side.DEBIT, d.amount),
                Leg(wallet_account(tx, f"funder:{funder.code}").id, Side.CREDIT, d.amount),
            ),
            memo=d.order_ref,
        ),
    )


def gate_facts(tx: Tx, f: OrderFinancing) -> model.GateFacts:
    order = tx.session.get(PurchaseOrder, f.order_id)
    supplier = None if order is None else tx.session.get(Supplier, order.supplier_id)
    line = tx.session.get(CreditLine, f.line_id)
    product = None if line is None else tx.session.get(FunderProduct, line.product_id)
    assert order is not None and supplier is not None and line is not None and product
    d = None if f.drawdown_id is None else tx.session.get(Drawdown, f.drawdown_id)
    documents = frozenset(
        tx.session.scalars(
            select(OrderDocument.kind).where(OrderDocument.order_id == order.id).distinct()
        )
    )
    # The hold is open (before the payout) or was posted to escrow (a payout the bank
    # refused is tried again); either way it must cover what the order needs now.
    hold = None if f.hold_entry_id is None else ledger.resolution_of(tx, f.hold_entry_id)
    needed = model.split(
        model.net_value(order.total, order.reduced), f.advance, product.margin_ppm or 0
    ).held
    return model.GateFacts(
        order_confirmed=order.status == "confirmed",
        order_cancelled=order.status == "cancelled",
        documents=documents,
        advance=f.advance,
        allowed_advance=model.max_advance(
            model.net_value(order.total, order.reduced), product.advance_rate_ppm or 0
        ),
        facility_active=line.status == "active",
        margin_held=hold in (None, Phase.POSTED) and f.own_part + f.margin >= needed,
        supplier_verified=supplier.account_verified_on is not None,
        supplier_whitelisted=supplier.whitelisted,
        other_financings=_others_on(tx, order, f.id),
        money_in_escrow=d is not None and d.status == loans.DrawdownStatus.ESCROWED,
        agent_overdue=_overdue(tx, f.agent_id),
    )


@read_only
def payout_gate(tx: Tx, reference: str) -> list[str]:
    """What keeps the supplier of this financing from being paid (empty: nothing)."""
    return model.missing(gate_facts(tx, financing_row(tx, reference, lock=False)))


@transactional
def pay_supplier(tx: Tx, reference: str) -> FinancingView:
    """Pay the supplier the whole order (the advance and the agent's part) from escrow
    in one payment to its verified account, once the gate passes; or refuse, naming
    everything missing. Asking again while it is paid or being paid changes nothing."""
    f = financing_row(tx, reference)
    if f.status in ("paying", "paid", "settled", "defaulted"):
        return view(tx, f, "exists")
    if f.status != "approved":
        raise YirongError("financing_not_open", financing=reference, status=f.status)
    missing = model.missing(gate_facts(tx, f))
    if missing:
        raise YirongError("payout_gate_failed", financing=reference, missing=missing)
    order = tx.session.get(PurchaseOrder, f.order_id)
    assert order is not None
    supplier = tx.session.get(Supplier, order.supplier_id)
    line = tx.session.get(CreditLine, f.line_id)
    product = None if line is None else tx.session.get(FunderProduct, line.product_id)
    assert supplier is not None and product is not None
    # What remains of the order now: a part cancelled since the request lowers the
    # agent's part (the rest of its hold goes back to the wallet).
    parts = model.split(
        model.net_value(order.total, order.reduced), f.advance, product.margin_ppm or 0
    )
    hold = f.hold_entry_id
    if hold is not None and ledger.resolution_of(tx, hold) is None:
        if parts.held:
            # The agent's part and margin join the advance in escrow (once, by its key).
            ledger.post(
                tx,
                PostPending(f"{_hold_key(f)}:posted", "order.hold.post", hold, amount=parts.held),
            )
        else:
            _release_hold(tx, f, "the order's remaining part needs none")
        f.own_part = parts.own_part
    # A payout the bank refused or sent back is tried again under a new key: one more
    # than every such payout to this payee so far (it only grows), so never an old one.
    attempt = 1 + int(
        tx.session.scalar(
            select(func.count()).where(
                Payment.kind == "supplier",
                Payment.payee_account == supplier.bank_account,
                Payment.status.in_(("failed", "returned")),
            )
        )
        or 0
    )
    payment, _ = payments.instruct_in(
        tx,
        kind="supplier",
        source=escrow_account(tx),
        amount=f.advance + f.own_part,
        key=f"order:{reference}:payout:{attempt}",
        payee=payments.Payee(supplier.name, supplier.bank_account, supplier.bank_name),
    )
    f.status, f.payment_id = "paying", payment.id
    return view(tx, f)


def _financing_paid_by(tx: Tx, payment: Payment) -> OrderFinancing | None:
    return tx.session.scalars(
        select(OrderFinancing).where(OrderFinancing.payment_id == payment.id).with_for_update()
    ).one_or_none()


def payout_settled_in(tx: Tx, payment: Payment) -> None:
    """The bank shows the supplier paid: the advance is lent from today."""
    f = _financing_paid_by(tx, payment)
    if f is None or f.drawdown_id is None:
        return
    lend_paid_out_in(tx, f.drawdown_id)
    f.status, f.paid_on = "paid", business_date_of(tx)


def payout_voided_in(tx: Tx, payment: Payment) -> None:
    """The bank refused or returned the payout before paying: the money is back in
    escrow, and the financing waits to be paid again (its gate checked again)."""
    f = _financing_paid_by(tx, payment)
    if f is None or f.status != "paying":
        return
    f.status, f.payment_id = "approved", None


def settle_margins_in(tx: Tx) -> tuple[int, int, int]:
    """The end of day's step: each paid financing whose loan is repaid gets its margin
    back in the wallet (settled); each whose loan is overdue has its margin go to the
    debt (defaulted): credited to the frozen wallet, whose sweep repays the overdue
    debt first. An approved financing whose funder's money never came (its order
    expired) lapses: its hold is released. Returns (released, applied, lapsed)."""
    lapsed = _lapse_in(tx)
    released = applied = 0
    rows = tx.session.execute(
        select(OrderFinancing, Drawdown.status, Agent.code)
        .join(Drawdown, Drawdown.id == OrderFinancing.drawdown_id)
        .join(Agent, Agent.id == OrderFinancing.agent_id)
        .where(
            OrderFinancing.status == "paid",
            Drawdown.status.in_((loans.DrawdownStatus.REPAID, loans.DrawdownStatus.OVERDUE)),
        )
        .order_by(OrderFinancing.id)
        .with_for_update(of=OrderFinancing)
    ).all()
    today = business_date_of(tx)
    for f, status, agent_code in rows:
        repaid = status == loans.DrawdownStatus.REPAID
        if f.margin:
            posted = ledger.post(
                tx,
                NewEntry(
                    f"order:{FINANCING.of(f.id)}:margin",
                    "order.margin.release" if repaid else "order.margin.apply",
                    (
                        Leg(escrow_account(tx).id, Side.DEBIT, f.margin),
                        Leg(wallet_account(tx, f"agent:{agent_code}").id, Side.CREDIT, f.margin),
                    ),
                    memo=FINANCING.of(f.id),
                ),
            )
            if not repaid:
                repay_overdue_from(tx, [posted])
        f.status = "settled" if repaid else "defaulted"
        f.closed_on = today if repaid else None
        released, applied = released + repaid, applied + (not repaid)
    return released, applied, lapsed


def _lapse_in(tx: Tx) -> int:
    today = business_date_of(tx)
    rows = tx.session.scalars(
        select(OrderFinancing)
        .join(Drawdown, Drawdown.id == OrderFinancing.drawdown_id)
        .where(
            OrderFinancing.status == "approved",
            Drawdown.status == loans.DrawdownStatus.EXPIRED,
        )
        .order_by(OrderFinancing.id)
    ).all()
    for f in rows:
        _release_hold(tx, f, "the funder's money did not come")
        f.status, f.closed_on, f.reason = "cancelled", today, "funder_money_not_arrived"
    return len(rows)


@read_only
def get_financing(tx: Tx, reference: str) -> FinancingView:
    return view(tx, financing_row(tx, reference, lock=False))


@read_only
def financings(
    tx: Tx, *, agent_code: str | None = None, funder_code: str | None = None
) -> list[FinancingView]:
    query = select(OrderFinancing).order_by(OrderFinancing.id)
    if agent_code is not None:
        query = query.where(OrderFinancing.agent_id == agent_row(tx, agent_code).id)
    if funder_code is not None:
        query = query.join(Funder, Funder.id == OrderFinancing.funder_id).where(
            Funder.code == funder_code
        )
    return [view(tx, f) for f in tx.session.scalars(query)]
