"""``yirong demo``: a year of a carrier's agents on a new database, then the credit
marketplace.

Agents are onboarded and the carrier's commission files arrive month by month for a
year; then a month of daily wallet traffic (top-ups, pre-payments, withdrawals the
bank pays or refuses, freezes, retried requests); then the marketplace: funders
compete with offers, agents apply under consent, funders decide. Every step calls
the same service functions as the command line. It ends by proving the books with
``ledger verify``."""

from __future__ import annotations

import random
from datetime import date
from pathlib import Path

from rich.console import Console
from rich.progress import Progress

from yirong.books.service import (
    CARRIER,
    RESERVE,
    current_business_date,
    next_business_day,
    open_books,
)
from yirong.demo.marketplace import run_marketplace
from yirong.demo.result import DemoResult
from yirong.demo.wallet_days import one_day
from yirong.demo.year import advance_to, firms, play_year
from yirong.infra.db import Database
from yirong.infra.migrate import upgrade
from yirong.ledger import service as ledger
from yirong.ledger.verify import verify

BOOKS_OPEN = date(2025, 1, 2)
FIRST_MONTH = date(2025, 1, 1)  # commissions for January 2025 to December 2025
FIRST_DAY = date(2026, 1, 5)  # the daily traffic begins


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
    roster = firms(rnd, agents, BOOKS_OPEN)
    codes = [a.code for a in roster]
    with Progress(console=console, transient=False) as progress:
        open_books(db, BOOKS_OPEN)
        play_year(db, rnd, roster, first_month=FIRST_MONTH, progress=progress, counts=result.counts)
        result.counts["agents"] = agents
        advance_to(db, FIRST_DAY)
        task = progress.add_task("A month of business days", total=days)
        pending: list[int] = []
        frozen: list[str] = []
        for _ in range(days):
            one_day(db, rnd, codes, current_business_date(db), pending, frozen, result)
            next_business_day(db)
            progress.advance(task)
        run_marketplace(db, rnd, codes, console=console, progress=progress, result=result)
        progress.add_task("Proving the books (ledger verify)", total=None)
        result.report = verify(db)
    result.reserve_fen, result.carrier_fen = db.run(
        lambda tx: (
            ledger.balance_of(tx, ledger.account_by_code(tx, RESERVE)).balance,
            ledger.balance_of(tx, ledger.account_by_code(tx, CARRIER)).balance,
        ),
        readonly=True,
    )
    return result
