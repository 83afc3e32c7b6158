"""``yirong demo``: a month of wallet traffic on a new SQLite database.

Agents are onboarded, the carrier's commission files arrive, agents top up, pre-pay
the carrier and withdraw (the bank pays some out and refuses others), risk control
freezes a few wallets for a while, and some requests are refused as they should be.
Every step calls the same service functions as the command line. It ends by proving
the books with ``ledger verify``."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import partial
from pathlib import Path
from typing import TypeVar

from rich.console import Console
from rich.progress import Progress

from yirong.books.service import CARRIER, RESERVE, next_business_day, open_books
from yirong.errors import YirongError
from yirong.infra.db import Database
from yirong.infra.migrate import upgrade
from yirong.ledger import service as ledger
from yirong.ledger.verify import VerifyReport, verify
from yirong.wallets import service as wallets
from yirong.wallets.commissions import import_commissions

FIRST_DAY = date(2026, 1, 5)
T = TypeVar("T")


@dataclass
class DemoResult:
    counts: Counter[str] = field(default_factory=Counter)
    refusals: Counter[str] = field(default_factory=Counter)
    reserve_fen: int = 0
    carrier_fen: int = 0
    report: VerifyReport | None = None

    @property
    def verify_ok(self) -> bool:
        return self.report is not None and self.report.ok


def fresh_demo_database(url: str | None, path: Path) -> Database:
    """A new, migrated database: the given URL, or a new SQLite file at ``path``."""
    if url is None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        url = f"sqlite:///{path}"
    db = Database(url)
    upgrade(db)
    return db


def run_demo(db: Database, *, agents: int, days: int, seed: int, console: Console) -> DemoResult:
    rnd = random.Random(seed)
    result = DemoResult()
    handles = [f"agent:A{n:05d}" for n in range(agents)]
    with Progress(console=console, transient=False) as progress:
        task = progress.add_task("Opening the books and onboarding agents", total=agents)
        open_books(db, FIRST_DAY)
        for start in range(0, agents, 500):
            chunk = handles[start : start + 500]
            wallets.open_wallets(db, [(h, f"Shop {h[-5:]}") for h in chunk])
            progress.advance(task, len(chunk))
        result.counts["agents"] = agents

        task = progress.add_task("Crediting the carrier's commission files", total=3)
        for month in ("2025-10", "2025-11", "2025-12"):
            rows = "".join(
                f"{h.split(':')[1]},{month},{rnd.randint(80_000, 900_000)}\n" for h in handles
            )
            done = import_commissions(db, f"agent,month,amount\n{rows}".encode(), f"{month}.csv")
            result.counts["commission_files"] += 1
            result.counts["commission_fen"] += done.total_fen
            progress.advance(task)
        again = import_commissions(db, f"agent,month,amount\n{rows}".encode(), "resent.csv")
        result.counts["files_resent_harmlessly"] += again.status == "exists"

        task = progress.add_task("Business days", total=days)
        pending: list[int] = []
        frozen: set[str] = set()
        for day_number in range(days):
            today = FIRST_DAY + timedelta(days=day_number)
            _one_day(db, rnd, handles, today, pending, frozen, result)
            next_business_day(db)
            progress.advance(task)

        progress.add_task("Proving the books (ledger verify)", total=None)
        result.report = verify(db)
    house = db.run(
        lambda tx: (
            ledger.balance_of(tx, ledger.account_by_code(tx, RESERVE)).balance,
            ledger.balance_of(tx, ledger.account_by_code(tx, CARRIER)).balance,
        ),
        readonly=True,
    )
    result.reserve_fen, result.carrier_fen = house
    return result


def _one_day(
    db: Database,
    rnd: random.Random,
    handles: list[str],
    today: date,
    pending: list[int],
    frozen: set[str],
    result: DemoResult,
) -> None:
    stamp = today.isoformat()

    def attempt(kind: str, call: Callable[[], T]) -> T | None:
        try:
            outcome = call()
        except YirongError as exc:
            result.refusals[exc.code] += 1
            return None
        result.counts[kind] += 1
        return outcome

    # The bank answers yesterday's withdrawals: most are paid, a few refused.
    for withdrawal in pending:
        if rnd.random() < 0.9:
            attempt(
                "withdrawals_paid",
                partial(wallets.confirm_withdrawal, db, withdrawal, f"paid:{withdrawal}"),
            )
        else:
            attempt(
                "withdrawals_refused_by_bank",
                partial(
                    wallets.fail_withdrawal,
                    db,
                    withdrawal,
                    f"failed:{withdrawal}",
                    reason="account name mismatch",
                ),
            )
    pending.clear()
    for n, handle in enumerate(rnd.sample(handles, k=max(1, len(handles) // 10))):
        key = f"{stamp}:{n}"
        choice = rnd.random()
        if choice < 0.4:
            attempt(
                "top_ups",
                partial(
                    wallets.top_up,
                    db,
                    handle,
                    rnd.randint(10_000, 500_000),
                    f"top:{key}",
                    bank_ref=f"BANK{key}",
                ),
            )
        elif choice < 0.8:
            attempt(
                "carrier_prepayments",
                partial(
                    wallets.pay_carrier, db, handle, rnd.randint(50_000, 1_500_000), f"pre:{key}"
                ),
            )
        else:
            held = attempt(
                "withdrawals_requested",
                partial(
                    wallets.request_withdrawal,
                    db,
                    handle,
                    rnd.randint(10_000, 600_000),
                    f"wd:{key}",
                ),
            )
            if held is not None and rnd.random() < 0.95:  # a few are never answered: they expire
                pending.append(held.entry_id)
    # Risk control freezes a wallet now and then, and lifts older freezes.
    if rnd.random() < 0.5:
        handle = rnd.choice(handles)
        wallets.freeze(db, handle, "risk", note="unusual pattern", actor="risk-desk")
        frozen.add(handle)
        result.counts["freezes"] += 1
        attempt("frozen_debits", partial(wallets.pay_carrier, db, handle, 100, f"try:{stamp}"))
    if frozen and rnd.random() < 0.4:
        handle = frozen.pop()
        wallets.unfreeze(db, handle, "risk", note="cleared", actor="risk-desk")
        result.counts["unfreezes"] += 1
    # A client retries a request: the same key moves money once.
    retried = wallets.top_up(db, handles[0], 100, f"top:{stamp}:retry")
    again = wallets.top_up(db, handles[0], 100, f"top:{stamp}:retry")
    if (retried.status, again.status) == ("created", "exists"):
        result.counts["retries_answered_exists"] += 1
