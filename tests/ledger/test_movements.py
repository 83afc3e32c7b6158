"""A page of an account's movements: filtered by entry code, side and dates, paged
both ways, each line with the posted balance after it, whatever the filter hides.
The expectations are a model the test keeps of what it posted."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date
from itertools import pairwise, product

from tests.ledger.helpers import open_wallet_account, post, reserve
from yirong.books.service import next_business_day
from yirong.infra.db import Database
from yirong.ledger import service as ledger
from yirong.ledger.model import Account, Leg, NewEntry, Side
from yirong.ledger.statement import (
    Cursor,
    MovementFilter,
    MovementPage,
    movements,
    statement,
    statement_lines,
)


@dataclass(frozen=True)
class Line:
    entry_id: int
    day: date
    code: str
    side: Side
    amount: int
    balance_after: int | None  # None for a hold


def _moved(key: str, code: str, debit: Account, credit: Account, amount: int) -> NewEntry:
    legs = (Leg(debit.id, Side.DEBIT, amount), Leg(credit.id, Side.CREDIT, amount))
    return NewEntry(key, code, legs, pending=code == "hold")


def _book(db: Database) -> list[Line]:
    """Forty movements over six business days: money in under two codes, out under
    one, and holds that never change the balance. Returns the model, oldest first."""
    wallet, bank = open_wallet_account(db, "wallet:agent:M1"), reserve(db)
    rnd, day, balance, lines = random.Random(7), date(2026, 1, 5), 0, []
    for n in range(40):
        if n % 7 == 6:
            day = next_business_day(db)
        kind = rnd.choice(["in.a", "in.b", "out", "hold"]) if balance > 5_000 else "in.a"
        amount = rnd.randint(1, 5_000) if kind in ("out", "hold") else rnd.randint(1, 90_000)
        if kind.startswith("in"):
            result = post(db, _moved(f"m{n}", kind, bank, wallet, amount))
            balance += amount
            lines.append(Line(result.entry_id, day, kind, Side.CREDIT, amount, balance))
        else:
            result = post(db, _moved(f"m{n}", kind, wallet, bank, amount))
            if kind == "out":
                balance -= amount
            after = None if kind == "hold" else balance
            lines.append(Line(result.entry_id, day, kind, Side.DEBIT, amount, after))
    return lines


def _shown(lines: list[Line], f: MovementFilter) -> list[Line]:
    return [
        x
        for x in lines
        if (not f.codes or x.code in f.codes)
        and (f.side is None or x.side is f.side)
        and (f.since is None or x.day >= f.since)
        and (f.until is None or x.day <= f.until)
    ][::-1]  # newest first


def _page(
    db: Database,
    account: Account,
    f: MovementFilter,
    before: Cursor | None = None,
    after: Cursor | None = None,
) -> MovementPage:
    return db.run(
        lambda tx: movements(tx, account, f, before=before, after=after, limit=4), readonly=True
    )


def test_pages_of_movements_follow_the_model_both_ways(db: Database) -> None:
    model = _book(db)
    days = sorted({x.day for x in model})
    assert len(days) >= 5 and {x.code for x in model} == {"in.a", "in.b", "out", "hold"}
    account = db.run(lambda tx: ledger.account_by_code(tx, "wallet:agent:M1"))
    filters = [
        MovementFilter(codes, side, since, until)
        for codes, side, (since, until) in product(
            [(), ("in.a",), ("in.b", "out"), ("hold",), ("no.such",)],
            [None, Side.CREDIT, Side.DEBIT],
            [(None, None), (days[1], None), (None, days[2]), (days[1], days[3])],
        )
    ]
    for f in filters:
        expected = _shown(model, f)
        # Back in time, page by page, to the end.
        walked, pages, before = [], [], None
        while True:
            page = _page(db, account, f, before=before)
            assert page.total == len(expected)
            pages.append(page)
            walked += [
                Line(x.entry_id, x.business_date, x.code, x.side, x.amount, x.balance_after)
                for x in page.lines
            ]
            if page.older is None:
                break
            before = page.older
        assert walked == expected, f
        assert all(len(p.lines) == 4 for p in pages[:-1])
        assert pages[0].newer is None and all(p.newer for p in pages[1:])
        # And forward again from the last page: each page is the one seen before it.
        for earlier, later in pairwise(pages):
            assert later.newer is not None
            again = _page(db, account, f, after=later.newer)
            assert again.lines == earlier.lines and again.older == earlier.older


def test_a_cursor_is_a_place_or_nothing() -> None:
    assert Cursor.parse("12-0") == Cursor(12, 0) and str(Cursor(12, 0)) == "12-0"
    assert [Cursor.parse(t) for t in (None, "", "12", "x-1", "1-y", "-1-0")] == [None] * 6


def test_statement_pages_back_in_time_keep_the_running_balance(db: Database) -> None:
    """``statement`` and ``statement_lines`` (the API's statement page): the newest
    page, then each older one (``before`` its oldest entry), end on the balance the
    model had after each line, however much posted after the page."""
    model = _book(db)
    newest_first: list[Line] = []
    before: int | None = None
    while True:
        page = statement(db, "wallet:agent:M1", limit=6, before=before)
        assert page.total_lines == len(model)
        assert page.lines == statement_lines(db, "wallet:agent:M1", limit=6, before=before)
        newest_first += [
            Line(x.entry_id, x.business_date, x.code, x.side, x.amount, x.balance_after)
            for x in reversed(page.lines)
        ]
        if len(page.lines) < 6:
            break
        before = page.lines[0].entry_id
    assert newest_first == model[::-1]
    posted = [x.balance_after for x in model if x.balance_after is not None]
    assert page.balance.balance == posted[-1]  # every page's balance is today's
