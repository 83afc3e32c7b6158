"""The demo's year before: agents onboarded, twelve monthly commission files from the
carrier, each paid by the carrier through the bank (the wallets are credited when the
day's statement shows its total, quoting the file's reference), and the pre-payments
agents make from them. This is the wallet history the marketplace's features are
computed from."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

from rich.progress import Progress

from yirong.agents.service import AgentInput, onboard_agents
from yirong.books.service import current_business_date, next_business_day
from yirong.demo.bank import SimulatedBank
from yirong.demo.customers import CARRIER
from yirong.demo.identities import firm
from yirong.infra.db import Database
from yirong.pricing.schedule import add_months
from yirong.wallets import service as wallets
from yirong.wallets.commissions import CommissionImport, import_commissions

# How an agent's monthly commission moves over the year, month 0 to 11.
PROFILES: dict[str, Callable[[random.Random, int], Decimal]] = {
    "steady": lambda r, i: Decimal(r.randint(90, 110)) / 100,
    "growing": lambda r, i: Decimal(60 + 8 * i) / 100,
    "falling": lambda r, i: Decimal(140 - 9 * i) / 100,
    "volatile": lambda r, i: Decimal(r.randint(20, 180)) / 100,
    "sporadic": lambda r, i: Decimal(r.choice((0, 0, 50, 100, 150))) / 100,
}
WEIGHTS = (50, 20, 10, 15, 5)
Profile = dict[str, tuple[str, int]]  # agent -> (how its commission moves, its base in fen)
LATE_SHARE = 0.1  # onboarded in the autumn: little history, fewer offers


def advance_to(db: Database, day: date) -> None:
    """Business day by business day (holds expire on the way), up to ``day``."""
    while current_business_date(db) < day:
        next_business_day(db)


def firms(rnd: random.Random, count: int, start: date) -> list[AgentInput]:
    """Valid synthetic firms, with the carrier since some day in the eight years before."""
    return [
        firm(n, rnd=rnd, carrier_since=start - timedelta(days=rnd.randint(30, 8 * 365)))
        for n in range(1, count + 1)
    ]


def play_year(
    db: Database,
    bank: SimulatedBank,
    rnd: random.Random,
    agents: list[AgentInput],
    *,
    first_month: date,
    progress: Progress,
    counts: Counter[str],
) -> Profile:
    """Twelve months of commissions for ``first_month`` onward, each recorded and paid
    by the carrier on the 3rd of the month after; once the day's statement has credited
    it, some agents pre-pay the carrier from it."""
    late = set(rnd.sample(range(len(agents)), k=int(len(agents) * LATE_SHARE)))
    early = [a for n, a in enumerate(agents) if n not in late]
    task = progress.add_task("Onboarding agents", total=len(agents))
    for start in range(0, len(early), 250):
        onboard_agents(db, early[start : start + 250])
        progress.advance(task, len(early[start : start + 250]))
    profile = {
        a.code: (rnd.choices(list(PROFILES), WEIGHTS)[0], 100 * rnd.randint(2_000, 15_000))
        for a in agents
    }
    task = progress.add_task("A year of commission files and pre-payments", total=12)
    for i in range(12):
        month = add_months(first_month, i)
        advance_to(db, add_months(month, 1).replace(day=3))
        if i == 8:  # the autumn's newcomers, carrier agents since this very day
            newcomers = [a for n, a in enumerate(agents) if n in late]
            onboard_agents(db, [_joining_today(a) for a in newcomers])
            counts["agents_onboarded_late"] = len(newcomers)
        onboarded = early if i < 8 else agents
        day = current_business_date(db)
        paid = commission_file(db, bank, rnd, [a.code for a in onboarded], profile, month, i)
        bank.close_day(day)
        counts["commission_files"] += 1
        counts["commission_fen"] += sum(paid.values())
        for code, amount in paid.items():
            if rnd.random() < 0.5:
                share = Decimal(rnd.randint(30, 90)) / 100
                key = f"pre:{month:%Y-%m}:{code}"
                wallets.pay_carrier(db, code, int(amount * share), key)
                counts["carrier_prepayments"] += 1
        progress.advance(task)
    return profile


def _joining_today(agent: AgentInput) -> AgentInput:
    return replace(agent, carrier_since=None)


def commission_file(
    db: Database,
    bank: SimulatedBank,
    rnd: random.Random,
    codes: list[str],
    profile: Profile,
    month: date,
    index: int,
) -> dict[str, int]:
    """The carrier's file for ``month``, the ``index``-th month (0-11) of each agent's
    profile, recorded as the carrier sends it; the carrier pays its total into the
    reserve account the same day, quoting the file's reference."""
    paid: dict[str, int] = {}
    for code in codes:
        kind, base = profile[code]
        amount = int(base * PROFILES[kind](rnd, index))
        if amount > 0:
            paid[code] = amount
    rows = "".join(f"{code},{month:%Y-%m},{amount}\n" for code, amount in paid.items())
    recorded = import_commissions(db, f"agent,month,amount\n{rows}".encode(), f"{month:%Y-%m}.csv")
    carrier_pays(bank, current_business_date(db), recorded, month)
    return paid


def carrier_pays(bank: SimulatedBank, on: date, recorded: CommissionImport, month: date) -> None:
    bank.pay_in(
        on,
        recorded.total_fen,
        CARRIER,
        memo=f"{month:%Y年%m月}代理商佣金 commissions {recorded.reference}",
        reference=recorded.reference,
    )
