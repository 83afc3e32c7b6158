"""Building an agent's wallet history through the service functions, on books that
move through business dates one day at a time, and an independent reference for
the features that history should give."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from fractions import Fraction

from sqlalchemy import select

from tests.bank import credit_commissions
from yirong.agents.service import onboard_agents
from yirong.agents.tables import Agent
from yirong.books.service import advance_business_date, business_date_of
from yirong.demo.identities import firm
from yirong.features.service import Features
from yirong.features.tables import AgentFeatures
from yirong.infra.db import Database, Tx
from yirong.wallets.service import pay_carrier

BOOKS_OPEN = date(2025, 1, 2)
PPM = 1_000_000


def advance_to(db: Database, day: date) -> None:
    """Move the books day by day up to ``day`` (one transaction for the whole run of
    days: the books still pass through every date, and refuse to skip one)."""

    def work(tx: Tx) -> None:
        today = business_date_of(tx)
        assert today <= day, f"the books are already on {today}, after {day}"
        while today < day:
            today = advance_business_date(tx, today + timedelta(days=1))

    db.run(work)


@dataclass
class Labels:
    """Commission months never credited before: each (agent, month) is paid once, so
    every credit in these tests carries its own month label, all before the books."""

    used: dict[str, Iterator[str]] = field(default_factory=dict)

    def next(self, agent: str) -> str:
        months = self.used.setdefault(
            agent,
            (f"{y:04d}-{m:02d}" for y in range(2024, 2000, -1) for m in range(12, 0, -1)),
        )
        return next(months)


@dataclass(frozen=True)
class Credit:
    """A commission credited on ``day``; ``month`` is the month the carrier pays it
    for (any month not credited before, unless given)."""

    day: date
    agent: str
    amount: int
    month: str | None = None


@dataclass(frozen=True)
class Prepayment:
    day: date
    agent: str
    amount: int


Event = Credit | Prepayment


def onboard(db: Database, agents: dict[str, date | None], *, first: int = 1) -> None:
    """Onboard synthetic firms (numbered from ``first``) with the given codes and
    carrier start dates (None: the onboarding date)."""
    onboard_agents(
        db,
        [
            firm(n, code=code, carrier_since=since)
            for n, (code, since) in enumerate(agents.items(), start=first)
        ],
    )


def play(db: Database, events: Iterable[Event]) -> None:
    """Apply the events in date order: the books move to each day, the day's
    commissions arrive in one file, then the day's pre-payments are made."""
    labels = db.cache("tests.commission_labels", Labels)
    keys = db.cache("tests.prepayment_keys", itertools.count)
    ordered = sorted(events, key=lambda e: (e.day, isinstance(e, Prepayment)))
    for day, group in itertools.groupby(ordered, key=lambda e: e.day):
        advance_to(db, day)
        todays = list(group)
        credits = [e for e in todays if isinstance(e, Credit)]
        if credits:
            rows = "".join(
                f"{c.agent},{c.month or labels.next(c.agent)},{c.amount}\n" for c in credits
            )
            credit_commissions(db, f"agent,month,amount\n{rows}".encode(), f"{day}.csv")
        for e in todays:
            if isinstance(e, Prepayment):
                pay_carrier(db, f"agent:{e.agent}", e.amount, f"prepay-{day}-{next(keys)}")


def features_by_agent(db: Database, as_of: date) -> dict[str, Features]:
    rows = db.run(
        lambda tx: tx.session.execute(
            select(Agent.code, AgentFeatures)
            .join(AgentFeatures, AgentFeatures.agent_id == Agent.id)
            .where(AgentFeatures.as_of == as_of)
        ).all(),
        readonly=True,
    )
    return {code: Features.of(row) for code, row in rows}


def feature_rows(db: Database) -> list[tuple[str, date]]:
    return db.run(
        lambda tx: [
            (code, as_of)
            for code, as_of in tx.session.execute(
                select(Agent.code, AgentFeatures.as_of).join(
                    AgentFeatures, AgentFeatures.agent_id == Agent.id
                )
            )
        ],
        readonly=True,
    )


# ---------------------------------------------------------------- the reference


def months_before(as_of_month: date, day: date) -> int:
    """How many calendar months ``day`` lies before the month of ``as_of_month``
    (1 = the month just before)."""
    return (as_of_month.year - day.year) * 12 + as_of_month.month - day.month


def toward_zero(numerator: int, denominator: int) -> int:
    return int(Fraction(numerator, denominator))  # int() of a Fraction truncates toward 0


def reference(
    events: Iterable[Event], agent: str, carrier_since: date, business_date: date
) -> Features:
    """The features, from the definition: the 12 full calendar months before the
    business date's month; a month's income is the commissions credited in it."""
    income = dict.fromkeys(range(1, 13), 0)
    prepay = 0
    for e in events:
        back = months_before(business_date, e.day)
        if e.agent != agent or not 1 <= back <= 12:
            continue
        if isinstance(e, Credit):
            income[back] += e.amount
        else:
            prepay += e.amount
    last3 = income[1] + income[2] + income[3]
    prior3 = income[4] + income[5] + income[6]
    total = sum(income.values())
    return Features(
        income_3m=last3,
        income_6m=last3 + prior3,
        income_12m=total,
        prepay_12m=prepay,
        months_without_income=sum(1 for amount in income.values() if amount == 0),
        trend_ppm=toward_zero((last3 - prior3) * PPM, prior3) if prior3 else None,
        volatility_ppm=(
            toward_zero(sum(abs(12 * m - total) for m in income.values()) * PPM, 12 * total)
            if total
            else None
        ),
        tenure_months=months_before(business_date, carrier_since),
        overdue_days=0,
    )
