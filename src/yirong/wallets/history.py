"""A wallet's history for its owner: its months (what came in as the carrier's
commissions and what went out as pre-payments for its stock, for the agent's chart),
and its movements a page at a time, filtered by kind, direction and dates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from yirong.books.service import business_date_of
from yirong.errors import YirongError
from yirong.infra.db import Tx, read_only
from yirong.ledger import service as ledger
from yirong.ledger.model import Side
from yirong.ledger.statement import Cursor, MovementFilter, MovementPage, movements
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


# The kinds of movement a wallet's owner filters by, each the entry codes it gathers.
# The codes are the ledger's names for them (some posted by the loans, which this
# package must not import: the names are data here, not calls).
KINDS: dict[str, tuple[str, ...]] = {
    "commission": (COMMISSION,),
    "stock": (PREPAYMENT,),
    "loan": ("loan.drawdown",),
    "repayment": ("loan.repayment", "loan.repayment_reversed"),
    "top_up": ("wallet.top_up",),
    "withdrawal": (
        "wallet.withdrawal",
        "wallet.withdrawal.confirm",
        "wallet.withdrawal.fail",
        "bank.payment_returned",
    ),
    "transfer": ("wallet.transfer",),
}
DIRECTIONS = {"in": Side.CREDIT, "out": Side.DEBIT}  # a wallet is what the platform owes
PAGE = 25


@dataclass(frozen=True, slots=True)
class MovementsAsked:
    """What the owner asked to see; an unknown kind or direction is refused, never
    silently read as \"all\"."""

    kind: str = ""
    direction: str = ""
    since: date | None = None
    until: date | None = None

    def filter(self) -> MovementFilter:
        if self.kind and self.kind not in KINDS:
            raise YirongError("movement_kind_invalid", kind=self.kind, known=sorted(KINDS))
        if self.direction and self.direction not in DIRECTIONS:
            raise YirongError("direction_invalid", direction=self.direction)
        if self.since and self.until and self.since > self.until:
            raise YirongError("date_range_invalid", since=str(self.since), until=str(self.until))
        return MovementFilter(
            KINDS.get(self.kind, ()),
            DIRECTIONS.get(self.direction),
            self.since,
            self.until,
        )


@read_only
def wallet_movements(
    tx: Tx,
    handle: str,
    asked: MovementsAsked,
    *,
    before: Cursor | None = None,
    after: Cursor | None = None,
    limit: int = PAGE,
) -> MovementPage:
    """One page of the wallet's movements, newest first, each with the balance after it."""
    shown = asked.filter()
    return movements(tx, wallet_account(tx, handle), shown, before=before, after=after, limit=limit)
