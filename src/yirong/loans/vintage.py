"""How a funder's loans age: vintages (by the month the money was lent, the share of
what was lent that stood 30 days or more past due at the end of each month on book)
and a post-loan watch list (贷后: borrowers whose commissions fell sharply against
their own year). Both read in SQL, a cohort or a page at a time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import and_, case, func, or_, select

from yirong.agents.tables import Agent
from yirong.books.service import business_date_of
from yirong.features.tables import AgentFeatures
from yirong.funders.service import funder_row
from yirong.infra.db import Tx, read_only
from yirong.loans.repayments import OUTSTANDING
from yirong.loans.tables import Drawdown

PAST_DUE_DAYS = 30  # the vintage's measure: 30 days or more past due (M2 and worse)


def _month_start(day: date, months: int = 0) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True, slots=True)
class Vintage:
    cohort: date  # the first day of the month the money was lent
    loans: int
    lent: int  # fen
    # By month on book (1, 2, ...): the share of ``lent`` 30+ days past due at that
    # month's end; None where the month has not ended yet.
    past_due: tuple[Decimal | None, ...]


@read_only
def vintages(tx: Tx, funder_code: str, *, cohorts: int = 12, horizon: int = 6) -> list[Vintage]:
    """The last ``cohorts`` months' vintages, oldest first, over ``horizon`` months on
    book. A loan counts as past due at a month's end when its due date was 30 days or
    more before it and it was not closed by then (a term loan's due date is its
    oldest unpaid instalment's)."""
    funder = funder_row(tx, funder_code)
    today = business_date_of(tx)
    found = []
    for k in range(cohorts, 0, -1):
        start = _month_start(today, 1 - k)
        ends = [_month_start(start, n + 1) - timedelta(days=1) for n in range(1, horizon + 1)]
        late = [
            func.sum(
                case(
                    (
                        and_(
                            Drawdown.due_date <= end - timedelta(days=PAST_DUE_DAYS),
                            or_(Drawdown.closed_on.is_(None), Drawdown.closed_on > end),
                        ),
                        Drawdown.amount,
                    ),
                    else_=0,
                )
            )
            for end in ends
        ]
        row = tx.conn.execute(
            select(func.count(), func.coalesce(func.sum(Drawdown.amount), 0), *late).where(
                Drawdown.funder_id == funder.id,
                Drawdown.credited_on >= start,
                Drawdown.credited_on < _month_start(start, 1),
            )
        ).one()
        loans, lent, *amounts = row
        shares = tuple(
            None if end >= today or not lent else Decimal(int(amount or 0)) / Decimal(int(lent))
            for end, amount in zip(ends, amounts, strict=True)
        )
        found.append(Vintage(start, int(loans), int(lent), shares))
    return found


@dataclass(frozen=True, slots=True)
class Watched:
    agent_code: str
    outstanding: int  # fen of principal lent by this funder
    income_3m: int  # the last three full months' commissions
    income_12m: int
    fall: Decimal  # how far the last quarter fell below the year's quarterly average


@read_only
def watch_list(
    tx: Tx, funder_code: str, *, fall: Decimal = Decimal("0.5"), after: int = 0, limit: int = 25
) -> list[tuple[int, Watched]]:
    """This funder's borrowers whose last three months' commissions fell by ``fall``
    or more against a quarter of their last twelve (their latest features), in agent
    order after id ``after`` (the cursor), a page at a time."""
    funder = funder_row(tx, funder_code)
    latest = tx.conn.scalar(select(func.max(AgentFeatures.as_of)))
    if latest is None:
        return []
    f = AgentFeatures
    borrows = (
        select(Drawdown.id)
        .where(
            Drawdown.agent_id == f.agent_id,
            Drawdown.funder_id == funder.id,
            Drawdown.status.in_(OUTSTANDING),
        )
        .exists()
    )
    # fell by ``fall`` or more: income_3m <= (1 - fall) × income_12m / 4. The page's
    # agents first, from the month's features in agent order (their own index), one
    # index probe each for a loan of this funder's; their debt after.
    found = tx.conn.execute(
        select(f.agent_id, Agent.code, f.income_3m, f.income_12m)
        .join(Agent, Agent.id == f.agent_id)
        .where(
            f.as_of == latest,
            f.agent_id > after,
            f.income_12m > 0,
            f.income_3m * 4 * 1_000_000 <= int((1 - fall) * 1_000_000) * f.income_12m,
            borrows,
        )
        .order_by(f.agent_id)
        .limit(limit)
    ).all()
    owed: dict[int, int] = dict(
        tx.conn.execute(
            select(Drawdown.agent_id, func.sum(Drawdown.principal))
            .where(
                Drawdown.agent_id.in_([row[0] for row in found]),
                Drawdown.funder_id == funder.id,
                Drawdown.status.in_(OUTSTANDING),
            )
            .group_by(Drawdown.agent_id)
        ).all()
    )
    rows = [(agent_id, code, owed[agent_id], i3, i12) for agent_id, code, i3, i12 in found]
    return [
        (
            agent_id,
            Watched(
                code,
                int(principal),
                int(i3),
                int(i12),
                1 - Decimal(int(i3) * 4) / Decimal(int(i12)),
            ),
        )
        for agent_id, code, principal, i3, i12 in rows
    ]
