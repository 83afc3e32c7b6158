"""A funder's monthly revenue-share statement (分润对账单): every repayment it collected
in the month with the interest and penalty in it and the platform's share of them,
and every reversal made in the month as a negative line, so that the statement's
total is exactly what the month moved on the funder's revenue-share account."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, or_, select

from yirong.agents.tables import Agent
from yirong.errors import YirongError
from yirong.funders.service import funder_row
from yirong.infra.db import Tx, read_only
from yirong.loans.tables import Repayment


@dataclass(frozen=True, slots=True)
class RevenueShareLine:
    business_date: date
    repayment_id: int
    agent_code: str
    kind: str  # repayment | reversal
    interest: int
    penalty: int
    share: int


@dataclass(frozen=True, slots=True)
class Statement:
    funder_code: str
    month: str  # YYYY-MM
    revenue_share_ppm: int
    lines: tuple[RevenueShareLine, ...]

    @property
    def interest(self) -> int:
        return sum(line.interest for line in self.lines)

    @property
    def penalty(self) -> int:
        return sum(line.penalty for line in self.lines)

    @property
    def share(self) -> int:
        return sum(line.share for line in self.lines)


_MONTH = re.compile(r"(2[0-9]{3})-(0[1-9]|1[0-2])", re.ASCII)


def month_bounds(month: str) -> tuple[date, date]:
    """``YYYY-MM`` (years 2000 to 2999) -> (its first day, the next month's first day)."""
    found = _MONTH.fullmatch(month)
    if found is None:
        raise YirongError("month_invalid", month=month[:20])
    year, number = int(found.group(1)), int(found.group(2))
    return date(year, number, 1), date(year + number // 12, number % 12 + 1, 1)


@read_only
def revenue_share_statement(tx: Tx, funder_code: str, month: str) -> Statement:
    funder = funder_row(tx, funder_code)
    first, after = month_bounds(month)
    rows = tx.session.execute(
        select(Repayment, Agent.code)
        .join(Agent, Agent.id == Repayment.agent_id)
        .where(
            Repayment.funder_id == funder.id,
            or_(
                and_(Repayment.business_date >= first, Repayment.business_date < after),
                and_(Repayment.reversed_on >= first, Repayment.reversed_on < after),
            ),
        )
        .order_by(Repayment.business_date, Repayment.id)
    ).all()
    lines: list[RevenueShareLine] = []
    for r, agent in rows:
        if first <= r.business_date < after:
            lines.append(
                RevenueShareLine(
                    r.business_date, r.id, agent, "repayment", r.interest, r.penalty, r.share
                )
            )
        if r.reversed_on is not None and first <= r.reversed_on < after:
            lines.append(
                RevenueShareLine(
                    r.reversed_on, r.id, agent, "reversal", -r.interest, -r.penalty, -r.share
                )
            )
    lines.sort(key=lambda line: (line.business_date, line.repayment_id, line.kind))
    return Statement(funder.code, month, funder.revenue_share_ppm, tuple(lines))
