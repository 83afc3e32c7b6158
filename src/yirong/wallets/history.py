"""A wallet's months: what came in as the carrier's commissions and what went out as
pre-payments for its stock, month by month, for the agent's own page (its chart)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from yirong.books.service import business_date_of
from yirong.infra.db import Tx, read_only
from yirong.ledger import service as ledger
from yirong.wallets.commissions import CODE as COMMISSION
from yirong.wallets.service import CARRIER_PREPAYMENT as PREPAYMENT
from yirong.wallets.service import wallet_account


@dataclass(frozen=True, slots=True)
class MonthFlow:
    month: date  # its first day
    commissions: int  # fen in
    prepayments: int  # fen out, as a positive amount


def months_back(day: date, months: int) -> list[date]:
    """The first days of the ``months`` months up to ``day``'s, oldest first."""
    index = day.year * 12 + day.month - 1
    return [date(i // 12, i % 12 + 1, 1) for i in range(index - months + 1, index + 1)]


@read_only
def monthly_flows(tx: Tx, handle: str, months: int = 12) -> list[MonthFlow]:
    """The last ``months`` months (the current one last) of the wallet's commissions
    and pre-payments; a month without either is there with zeros."""
    shown = months_back(business_date_of(tx), months)
    moved = ledger.moved_by_month(
        tx, wallet_account(tx, handle), [COMMISSION, PREPAYMENT], shown[0]
    )
    return [
        MonthFlow(m, moved.get((m, COMMISSION), 0), -moved.get((m, PREPAYMENT), 0)) for m in shown
    ]
