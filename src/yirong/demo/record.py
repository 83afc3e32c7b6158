"""What the database holds at the end of the demo, counted from the records
themselves (not from what the demo believes it did): the figures of its summary
and of its ``--json`` line."""

from __future__ import annotations

from sqlalchemy import func, or_, select

from yirong.agents.tables import Agent
from yirong.books.service import REVENUE
from yirong.credit.tables import CreditLine, Offer
from yirong.infra.db import Tx
from yirong.ledger import service as ledger
from yirong.loans.tables import Drawdown, FundingReceipt, Repayment, RepaymentPart
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
    per_agent = (
        select(func.count().label("lines"))
        .where(CreditLine.status == "active")
        .group_by(CreditLine.agent_id)
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
        "freezes": _count(tx, of=WalletFreeze),
        "freezes_for_overdue": _count(tx, WalletFreeze.reason == "overdue", of=WalletFreeze),
        "unfreezes": _count(tx, WalletFreeze.lifted_on.is_not(None), of=WalletFreeze),
        "exceptions": _count(tx, FundingReceipt.outcome != "matched", of=FundingReceipt),
        "revenue_share_fen": ledger.balance_of(tx, ledger.account_by_code(tx, REVENUE)).balance,
    }
