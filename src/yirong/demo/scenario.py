"""``yirong demo``: the seed's story on a new database.

Agents are onboarded and the carrier's commission files arrive month by month for a
year; then the marketplace opens: funders compete with offers, agents apply under
consent, funders decide; then months of business days in which agents borrow, spend,
repay or fall overdue (frozen and swept), next to their daily wallet traffic, each
day closed by the bank's statement and the end of day. Money reaches the books only
from the simulated bank's statements (``demo.bank``). Every step calls the same
service functions as the command line. It ends by proving the books with ``ledger
verify``, and the books' reserve account against the bank's closing balance."""

from __future__ import annotations

import random
from datetime import date
from pathlib import Path

from rich.console import Console
from rich.progress import Progress

from yirong.books.service import CARRIER, RESERVE, open_books
from yirong.demo.bank import SimulatedBank
from yirong.demo.customers import Customers
from yirong.demo.lending import Lending, play_lending
from yirong.demo.marketplace import run_marketplace
from yirong.demo.record import exceptions_by_kind, on_record, unbooked_fen
from yirong.demo.result import DemoResult
from yirong.demo.year import advance_to, firms, play_year
from yirong.infra.db import Database
from yirong.infra.migrate import upgrade
from yirong.ledger import service as ledger
from yirong.ledger.verify import verify
from yirong.policy.service import set_setting

BOOKS_OPEN = date(2025, 1, 2)
FIRST_MONTH = date(2025, 1, 1)  # commissions for January 2025 to December 2025
FIRST_DAY = date(2026, 1, 5)  # the marketplace opens; lending begins
APPROVAL_FROM_FEN = 1_000_000  # the desk's maker-checker threshold: 10,000 yuan


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
        set_setting(
            db,
            "recon_approval_threshold_fen",
            str(APPROVAL_FROM_FEN),
            effective_from=BOOKS_OPEN,
            set_by="ops-head",
        )
        bank = SimulatedBank(db, random.Random(seed + 1))
        customers = Customers.of(db, bank, roster)
        profile = play_year(
            db,
            bank,
            rnd,
            roster,
            first_month=FIRST_MONTH,
            progress=progress,
            counts=result.counts,
        )
        advance_to(db, FIRST_DAY)
        market = run_marketplace(db, rnd, codes, console=console, progress=progress, result=result)
        task = progress.add_task(
            f"{days} business days of lending, each closed by the bank's statement and eod",
            total=days,
        )
        lending = Lending(market, profile, bank, customers)
        play_lending(lending, codes, days, lambda: progress.advance(task))
        progress.add_task("Proving the books (ledger verify)", total=None)
        result.report = verify(db)
    for name, value in db.run(on_record, readonly=True).items():
        result.counts[name] = value  # the record's figure, not the demo's own tally
    result.exceptions_by_kind = db.run(exceptions_by_kind, readonly=True)
    result.reserve_fen, result.carrier_fen, result.unbooked_fen = db.run(
        lambda tx: (
            ledger.balance_of(tx, ledger.account_by_code(tx, RESERVE)).balance,
            ledger.balance_of(tx, ledger.account_by_code(tx, CARRIER)).balance,
            unbooked_fen(tx),
        ),
        readonly=True,
    )
    result.bank_fen = bank.balance
    return result
