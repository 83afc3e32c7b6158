"""What the database holds at the end of the demo, counted from the records
themselves (not from what the demo believes it did): the figures of its summary
and of its ``--json`` line, the bank's side included (statements, lines, exceptions)."""

from __future__ import annotations

from sqlalchemy import case, func, or_, select

from yirong.agents.tables import Agent
from yirong.books.service import REVENUE
from yirong.credit.applications import family_sql
from yirong.credit.tables import CreditLine, Offer
from yirong.funders.tables import FunderProduct
from yirong.infra.db import Tx
from yirong.infra.outbox import OutboxMessage
from yirong.ledger import service as ledger
from yirong.loans.tables import Drawdown, Repayment, RepaymentPart
from yirong.orders.tables import OrderFinancing, PurchaseOrder
from yirong.payments.tables import Payment
from yirong.reconciliation.tables import (
    BankLine,
    FunderFileDifference,
    Notice,
    ReconApproval,
    ReconDay,
    ReconException,
    StatementFile,
)
from yirong.wallets.tables import WalletFreeze


def _count(tx: Tx, *where: object, of: type) -> int:
    query = select(func.count()).select_from(of)
    for condition in where:
        query = query.where(condition)  # type: ignore[arg-type]
    return int(tx.session.scalar(query) or 0)


def on_record(tx: Tx) -> dict[str, int]:
    lent = tx.session.scalars(
        select(Drawdown.status).where(Drawdown.credited_on.is_not(None))
    ).all()
    # A loan that fell overdue is overdue still, or was swept (only overdue debt is).
    swept = (
        select(RepaymentPart.drawdown_id)
        .join(Repayment, Repayment.id == RepaymentPart.repayment_id)
        .where(Repayment.kind == "sweep")
    )
    overdue = _count(tx, or_(Drawdown.status == "overdue", Drawdown.id.in_(swept)), of=Drawdown)
    # A term loan falls overdue once for each instalment missed (each time its funder
    # is told); it recovered when it is current or repaid now.
    term = select(Drawdown.id).where(Drawdown.method != "bullet")
    fell = select(OutboxMessage.subject_id).where(
        OutboxMessage.topic == "loan.overdue", OutboxMessage.subject_id.in_(term)
    )
    # One funder at a time in each product family: a line and an order facility each.
    per_agent = (
        select(func.count().label("lines"))
        .select_from(CreditLine)
        .join(FunderProduct, FunderProduct.id == CreditLine.product_id)
        .where(CreditLine.status == "active")
        .group_by(CreditLine.agent_id, family_sql(FunderProduct.kind))
        .subquery()
    )
    return {
        "agents": _count(tx, of=Agent),
        "offers": _count(tx, of=Offer),
        "lines": _count(tx, of=CreditLine),
        "lines_active": _count(tx, CreditLine.status == "active", of=CreditLine),
        "most_active_lines_for_one_agent": int(
            tx.session.scalar(select(func.coalesce(func.max(per_agent.c.lines), 0))) or 0
        ),
        "drawdowns": _count(tx, of=Drawdown),
        "loans_credited": len(lent),
        "loans_overdue_now": sum(1 for status in lent if status == "overdue"),
        "repayments": _count(tx, of=Repayment),
        "sweeps": _count(tx, Repayment.kind == "sweep", of=Repayment),
        "overdue": overdue,
        "instalment_loans": _count(
            tx, Drawdown.method != "bullet", Drawdown.credited_on.is_not(None), of=Drawdown
        ),
        "instalments_overdue": _count(
            tx,
            OutboxMessage.topic == "loan.overdue",
            OutboxMessage.subject_id.in_(term),
            of=OutboxMessage,
        ),
        "instalment_loans_recovered": _count(
            tx, Drawdown.id.in_(fell), Drawdown.status.in_(("credited", "repaid")), of=Drawdown
        ),
        "freezes": _count(tx, of=WalletFreeze),
        "freezes_for_overdue": _count(tx, WalletFreeze.reason == "overdue", of=WalletFreeze),
        "unfreezes": _count(tx, WalletFreeze.lifted_on.is_not(None), of=WalletFreeze),
        "revenue_share_fen": ledger.balance_of(tx, ledger.account_by_code(tx, REVENUE)).balance,
        **_orders(tx),
        **_reconciliation(tx),
    }


def _orders(tx: Tx) -> dict[str, int]:
    """The second product: orders financed (their supplier paid, as the bank shows),
    the payouts the bank settled, and how the financings ended."""
    return {
        "purchase_orders": _count(tx, of=PurchaseOrder),
        "orders_financed": _count(tx, OrderFinancing.paid_on.is_not(None), of=OrderFinancing),
        "supplier_payouts": _count(
            tx, Payment.kind == "supplier", Payment.status == "settled", of=Payment
        ),
        "orders_refunded_in_part": _count(tx, OrderFinancing.refunded > 0, of=OrderFinancing),
        "order_margins_released": _count(tx, OrderFinancing.status == "settled", of=OrderFinancing),
        "orders_defaulted": _count(tx, OrderFinancing.status == "defaulted", of=OrderFinancing),
    }


def _reconciliation(tx: Tx) -> dict[str, int]:
    """The bank's side: statement files and their lines, how each line ended, the
    exception queue, notices and our payments."""
    files, lines, duplicates = tx.conn.execute(
        select(
            func.count(),
            func.coalesce(func.sum(StatementFile.lines), 0),
            func.coalesce(func.sum(StatementFile.duplicate_lines), 0),
        )
    ).one()
    by_status = dict(
        tx.conn.execute(select(BankLine.status, func.count()).group_by(BankLine.status)).all()
    )
    matched_to = dict(
        tx.conn.execute(
            select(BankLine.target, func.count())
            .where(BankLine.status == "matched")
            .group_by(BankLine.target)
        ).all()
    )
    payments = dict(
        tx.conn.execute(select(Payment.status, func.count()).group_by(Payment.status)).all()
    )
    notices = dict(
        tx.conn.execute(select(Notice.status, func.count()).group_by(Notice.status)).all()
    )
    return {
        "statement_files": int(files),
        "statement_lines": int(lines or 0),
        "duplicate_lines": int(duplicates or 0),
        "matched_lines": by_status.get("matched", 0),
        "partial_lines": by_status.get("partial", 0),
        "exception_lines": by_status.get("exception", 0),
        "returned_lines": by_status.get("returned", 0),
        "fundings_matched": matched_to.get("order", 0),
        "top_ups_credited": matched_to.get("wallet", 0),
        "commission_files_paid": matched_to.get("commission", 0),
        "payments_settled": payments.get("settled", 0),
        "payments_failed": payments.get("failed", 0),
        "payments_returned": payments.get("returned", 0),
        "notices": sum(notices.values()),
        "notices_matched": notices.get("matched", 0),
        "notices_dismissed": notices.get("dismissed", 0),
        "exceptions": _count(tx, ReconException.line_id.is_not(None), of=ReconException),
        "recon_exceptions": _count(tx, of=ReconException),
        "recon_exceptions_open": _count(tx, ReconException.status == "open", of=ReconException),
        "recon_approvals": _count(tx, ReconApproval.status == "approved", of=ReconApproval),
        **_days(tx),
        "funder_file_differences": _count(tx, of=FunderFileDifference),
    }


def _days(tx: Tx) -> dict[str, int]:
    """Reconciled days (each bank account's latest result): clean, unclean, and those
    unclean that nobody has signed off yet."""
    latest = ReconDay.latest.is_(True)
    return {
        "recon_days_clean": _count(tx, latest, ReconDay.clean.is_(True), of=ReconDay),
        "recon_days_unclean": _count(tx, latest, ReconDay.clean.is_(False), of=ReconDay),
        "recon_days_open": _count(
            tx,
            latest,
            ReconDay.clean.is_(False),
            ReconDay.acknowledged_by.is_(None),
            of=ReconDay,
        ),
    }


def exceptions_by_kind(tx: Tx) -> dict[str, tuple[int, int]]:
    """Each kind of exception: how many were opened, and how many are open now."""
    found: dict[str, tuple[int, int]] = {}
    for kind, opened, still_open in tx.conn.execute(
        select(
            ReconException.kind,
            func.count(),
            func.sum(case((ReconException.status == "open", 1), else_=0)),
        ).group_by(ReconException.kind)
    ):
        found[kind] = (int(opened), int(still_open or 0))
    return dict(sorted(found.items()))


def unbooked_fen(tx: Tx) -> int:
    """What the books do not hold of the bank's lines: lines in open exceptions that an
    operator released from suspense (credits +, debits -). Everything else the bank
    printed is in the books, matched or held in suspense."""
    signed = case((BankLine.direction == "C", BankLine.amount), else_=-BankLine.amount)
    return int(
        tx.conn.scalar(
            select(func.coalesce(func.sum(signed), 0)).where(
                BankLine.status == "exception", BankLine.suspense_entry_id.is_(None)
            )
        )
        or 0
    )
