"""The end of day's look at what is still waiting (a step of ``yirong eod run``):

* a notice with no money after the ``notice_wait`` rule's days is an exception
  (someone said they paid; the bank shows nothing);
* a payment the bank has not debited after ``payment_wait`` days is an exception;
* part of an order paid in several lines, when the order closed without the rest,
  is an exception (short), its money still in suspense.

Each is opened once; the first two resolve by themselves if the money comes after all."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import exists, select

from yirong.infra.db import Tx
from yirong.loans.drawdowns import LIVE_ORDER
from yirong.loans.tables import Drawdown
from yirong.payments.tables import Payment
from yirong.reconciliation.matching import OPERATIONS
from yirong.reconciliation.model import ExceptionKind
from yirong.reconciliation.rules import rules_in
from yirong.reconciliation.tables import BankLine, Notice, ReconException


def age_in(tx: Tx, today: date) -> dict[str, int]:
    """Open the day's waiting exceptions (see the module); returns how many of each."""
    rules = rules_in(tx)
    return {
        "notices_unfunded": _unfunded_notices(tx, today, rules["notice_wait"].days_after),
        "payments_not_debited": _undebited_payments(tx, today, rules["payment_wait"].days_after),
        "parts_short": _orphaned_parts(tx, today),
    }


def _unfunded_notices(tx: Tx, today: date, wait_days: int) -> int:
    found = list(
        tx.session.scalars(
            select(Notice)
            .where(Notice.status == "open", Notice.said_on < today - timedelta(days=wait_days))
            .order_by(Notice.id)
            .with_for_update()
        )
    )
    for notice in found:
        notice.status = "unfunded"
        tx.session.add(
            ReconException(
                kind=ExceptionKind.NOTICE_UNFUNDED.value,
                notice_id=notice.id,
                direction="D" if notice.kind == "payment" else "C",
                amount=notice.amount,
                detail=(
                    f"{notice.recorded_by} said on {notice.said_on} that {notice.amount} fen "
                    f"({notice.kind}) moved for {notice.target}; no bank line shows it."
                )[:300],
                opened_on=today,
                owner=OPERATIONS,
                status="open",
            )
        )
    return len(found)


def _undebited_payments(tx: Tx, today: date, wait_days: int) -> int:
    already = exists().where(
        ReconException.payment_id == Payment.id,
        ReconException.kind == ExceptionKind.PAYMENT_NOT_DEBITED.value,
    )
    found = list(
        tx.session.scalars(
            select(Payment)
            .where(
                Payment.status == "instructed",
                Payment.instructed_on < today - timedelta(days=wait_days),
                ~already,
            )
            .order_by(Payment.id)
        )
    )
    for payment in found:
        tx.session.add(
            ReconException(
                kind=ExceptionKind.PAYMENT_NOT_DEBITED.value,
                payment_id=payment.id,
                direction="D",
                amount=payment.amount,
                detail=(
                    f"Payment {payment.reference} ({payment.kind}) instructed on "
                    f"{payment.instructed_on}; no bank line shows it left."
                ),
                opened_on=today,
                owner=OPERATIONS,
                status="open",
            )
        )
    return len(found)


def _orphaned_parts(tx: Tx, today: date) -> int:
    parts = list(
        tx.session.scalars(
            select(BankLine)
            .join(Drawdown, Drawdown.order_ref == BankLine.target_ref)
            .where(BankLine.status == "partial", Drawdown.status.not_in(LIVE_ORDER))
            .order_by(BankLine.id)
            .with_for_update(of=BankLine)
        )
    )
    for line in parts:
        line.status = "exception"
        tx.session.add(
            ReconException(
                kind=ExceptionKind.SHORT.value,
                line_id=line.id,
                direction=line.direction,
                amount=line.amount,
                detail=f"Part of order {line.target_ref}, which closed without the rest.",
                opened_on=today,
                owner=OPERATIONS,
                status="open",
            )
        )
    return len(parts)
