"""Small helpers for ledger tests against a real database."""

from __future__ import annotations

from collections.abc import Sequence

from tests.conftest import FIRST_DAY
from yirong.books.service import RESERVE
from yirong.infra.db import Database, Tx
from yirong.ledger import service as ledger
from yirong.ledger.model import PLATFORM_BOOK, Account, AccountKind, Leg, NewEntry, Request, Side
from yirong.ledger.service import AccountBalance, PostResult
from yirong.ledger.verify import verify


def open_wallet_account(db: Database, code: str) -> Account:
    return db.run(
        lambda tx: ledger.open_account(
            tx,
            code,
            book=PLATFORM_BOOK,
            kind=AccountKind.LIABILITY,
            name=code,
            opened_on=FIRST_DAY,
            debits_must_not_exceed_credits=True,
        )
    )


def reserve(db: Database) -> Account:
    return db.run(lambda tx: ledger.account_by_code(tx, RESERVE))


def move(key: str, debit: Account, credit: Account, amount: int, **kw: object) -> NewEntry:
    return NewEntry(
        key,
        "test.move",
        (Leg(debit.id, Side.DEBIT, amount), Leg(credit.id, Side.CREDIT, amount)),
        **kw,
    )  # type: ignore[arg-type]


def post(db: Database, request: Request, *, final: bool = False) -> PostResult:
    return db.run(lambda tx: ledger.post(tx, request, final=final))


def post_batch(
    db: Database, requests: Sequence[Request], *, atomic: bool = False
) -> list[PostResult]:
    return db.run(lambda tx: ledger.post_batch(tx, requests, atomic=atomic))


def balance(db: Database, account: Account) -> AccountBalance:
    return db.run(lambda tx: ledger.balance_of(tx, account), readonly=True)


def assert_books_balance(db: Database) -> None:
    report = verify(db)
    problems = {c.name: c.problems for c in report.checks if not c.ok}
    assert report.ok, problems


def count_entries(db: Database) -> int:
    from sqlalchemy import text

    def count(tx: Tx) -> int:
        return int(tx.conn.execute(text("SELECT COUNT(*) FROM ledger_entries")).scalar_one())

    return db.run(count, readonly=True)
