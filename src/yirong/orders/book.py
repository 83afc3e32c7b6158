"""What a funder sees of its order financings: each one whole (the order, its
documents and confirmation, the payout and its bank receipt, delivery, the loan's
schedule and state), and its concentration by supplier and by agent, in SQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import InstrumentedAttribute

from yirong.agents.tables import Agent
from yirong.books.service import business_date_of
from yirong.errors import YirongError
from yirong.funders.tables import Funder
from yirong.infra.db import Tx, read_only
from yirong.loans.debts import debts_of
from yirong.loans.tables import Drawdown
from yirong.orders.financing import FinancingView, financing_row, view
from yirong.orders.purchase import OrderView, order_view
from yirong.orders.tables import OrderFinancing, PurchaseOrder, Supplier
from yirong.payments.service import PaymentView
from yirong.payments.service import view as payment_view
from yirong.payments.tables import Payment

# Financings whose money is the funder's at risk: approved and not yet closed.
AT_RISK = ("approved", "paying", "paid", "defaulted")


@dataclass(frozen=True, slots=True)
class FinancingDetail:
    financing: FinancingView
    order: OrderView
    payout: PaymentView | None  # the payment to the supplier and its bank receipt
    owed_today: int  # everything the loan owes today (0 before it runs)


@read_only
def financing_detail(tx: Tx, reference: str, *, funder_code: str | None = None) -> FinancingDetail:
    """One financing whole; a funder sees its own only (another's: not found)."""
    f = financing_row(tx, reference, lock=False)
    if funder_code is not None:
        funder = tx.session.get(Funder, f.funder_id)
        if funder is None or funder.code != funder_code:
            raise YirongError("financing_not_found", financing=reference)
    order = tx.session.get(PurchaseOrder, f.order_id)
    assert order is not None
    payment = None if f.payment_id is None else tx.session.get(Payment, f.payment_id)
    owed = 0
    loan = None if f.drawdown_id is None else tx.session.get(Drawdown, f.drawdown_id)
    if loan is not None and loan.status in ("credited", "overdue"):
        [debt] = debts_of(tx, [loan], business_date_of(tx))
        owed = debt.payoff.total
    return FinancingDetail(
        view(tx, f),
        order_view(tx, order),
        None if payment is None else payment_view(payment),
        owed,
    )


@dataclass(frozen=True, slots=True)
class Exposure:
    """One supplier's or agent's share of a funder's order book."""

    code: str
    name: str
    financings: int
    advanced: int  # approved advances not yet paid out (fen)
    outstanding: int  # principal lent and not repaid (fen)
    overdue: int  # of which overdue

    @property
    def total(self) -> int:
        return self.advanced + self.outstanding


@dataclass(frozen=True, slots=True)
class Concentration:
    as_of: date
    by_supplier: tuple[Exposure, ...]
    by_agent: tuple[Exposure, ...]

    @property
    def total(self) -> int:
        return sum(e.total for e in self.by_supplier)


@read_only
def concentration(tx: Tx, funder_code: str) -> Concentration:
    """The funder's order book by supplier and by agent, largest first."""
    funder = tx.session.scalars(select(Funder).where(Funder.code == funder_code)).one_or_none()
    if funder is None:
        raise YirongError("funder_not_found", funder=funder_code)
    lent = Drawdown.status.in_(("credited", "overdue"))
    advanced = func.sum(case((~lent, OrderFinancing.advance), else_=0))
    outstanding = func.sum(case((lent, Drawdown.principal), else_=0))
    overdue = func.sum(case((Drawdown.status == "overdue", Drawdown.principal), else_=0))
    base = (
        select()
        .select_from(OrderFinancing)
        .join(Drawdown, Drawdown.id == OrderFinancing.drawdown_id)
        .where(OrderFinancing.funder_id == funder.id, OrderFinancing.status.in_(AT_RISK))
    )

    def grouped(
        code: InstrumentedAttribute[str],
        name: InstrumentedAttribute[str],
        *joins: tuple[Any, Any],
    ) -> tuple[Exposure, ...]:
        query = base.add_columns(code, name, func.count(), advanced, outstanding, overdue)
        for table, on in joins:
            query = query.join(table, on)
        rows = tx.conn.execute(query.group_by(code, name)).all()
        found = [
            Exposure(c, n, k, int(a or 0), int(o or 0), int(d or 0)) for c, n, k, a, o, d in rows
        ]
        return tuple(sorted(found, key=lambda e: (-e.total, e.code)))

    return Concentration(
        business_date_of(tx),
        grouped(
            Supplier.code,
            Supplier.name,
            (PurchaseOrder, PurchaseOrder.id == OrderFinancing.order_id),
            (Supplier, Supplier.id == PurchaseOrder.supplier_id),
        ),
        grouped(Agent.code, Agent.name, (Agent, Agent.id == OrderFinancing.agent_id)),
    )
