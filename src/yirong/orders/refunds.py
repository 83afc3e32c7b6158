"""Dilution after the payout: the supplier refunds part of an order (goods returned,
a short delivery) through the reserve account, quoting our payout to it. The refund
is the change to the order, and its money goes to the funder first: it repays the
advance's principal before anything else, so that what is financed never exceeds
the advance rate of what remains (if principal P <= r * N and the refund R repays
R of it, P - R <= r * N - R <= r * (N - R), for a rate r of at most 1). What the
loan no longer needs goes to the agent's wallet (it was the agent's own money)."""

from __future__ import annotations

from sqlalchemy import select

from yirong.agents.tables import Agent
from yirong.errors import YirongError
from yirong.infra.db import Tx
from yirong.ledger import service as ledger
from yirong.ledger.model import Leg, NewEntry, Side
from yirong.loans.repayments import repay_from_in
from yirong.orders.financing import escrow_account
from yirong.orders.purchase import record_change_in
from yirong.orders.tables import FINANCING, OrderFinancing, PurchaseOrder
from yirong.payments.tables import Payment
from yirong.wallets.service import repay_overdue_from, wallet_account

# A refund pays the goods it stands for first: the principal, then what else is owed.
REFUND_ORDER = ("principal", "penalty", "interest")


def receive_refund_in(tx: Tx, payment: Payment, amount: int, *, key: str, bank_account: str) -> int:
    """The bank's statement shows ``amount`` fen refunded by the supplier of the
    payout ``payment`` (only the reconciliation's matcher calls this, for a line it
    matched). Returns what went to the funder."""
    f = tx.session.scalars(
        select(OrderFinancing).where(OrderFinancing.payment_id == payment.id).with_for_update()
    ).one_or_none()
    if f is None or payment.status != "settled":
        raise YirongError("financing_not_found", payment=payment.reference)
    if amount > payment.amount - f.refunded:
        raise YirongError(
            "refund_exceeds_paid", amount=amount, refundable=payment.amount - f.refunded
        )
    order = tx.session.get(PurchaseOrder, f.order_id, with_for_update=True)
    agent = tx.session.get(Agent, f.agent_id)
    assert order is not None and agent is not None and f.drawdown_id is not None
    reference = FINANCING.of(f.id)
    record_change_in(
        tx, order, "returned", amount, f"supplier refund on {payment.reference}", key, by="bank"
    )
    escrow = escrow_account(tx)
    ledger.post(
        tx,
        NewEntry(
            f"{key}:refund",
            "order.refund",
            (
                Leg(ledger.account_by_code(tx, bank_account).id, Side.DEBIT, amount),
                Leg(escrow.id, Side.CREDIT, amount),
            ),
            memo=reference,
        ),
    )
    to_funder = repay_from_in(tx, f.drawdown_id, amount, f"refund:{key}", escrow, REFUND_ORDER)
    rest = amount - to_funder
    if rest:
        posted = ledger.post(
            tx,
            NewEntry(
                f"{key}:refund:rest",
                "order.refund.rest",
                (
                    Leg(escrow.id, Side.DEBIT, rest),
                    Leg(wallet_account(tx, f"agent:{agent.code}").id, Side.CREDIT, rest),
                ),
                memo=reference,
            ),
        )
        repay_overdue_from(tx, [posted])
    f.refunded += amount
    return to_funder
