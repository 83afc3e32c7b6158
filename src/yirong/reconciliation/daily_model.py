"""The day's reconciliation of one bank account, as rules (no database here).

The books against the bank, the way a finance team writes its bank reconciliation
statement (银行存款余额调节表): the bank's closing balance for the day, the books'
balance for the same day, and the difference between them explained item by item.
Each item says by how much it moves the bank's figure away from the books'
(``effect``: bank minus books), so that the explained total can be held against the
difference; what no item explains is itself an item, ``unexplained``.

A day is **clean** when the two agree once the items in transit are counted, and
nothing else is listed. Items that are not timing (``in_transit`` is) make it
unclean: money the bank shows and our books do not (平台漏单), money our books moved
that the bank has not (银行漏单), amounts that differ, lines waiting in suspense, a
statement missing or a gap between two statements."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import date
from enum import StrEnum


class ItemKind(StrEnum):
    IN_TRANSIT = "in_transit"  # we instructed a payment; the bank books it within the window
    MISSING_AT_BANK = "missing_at_bank"  # 银行漏单: instructed, the bank has not paid it in time
    MISSING_IN_BOOKS = "missing_in_books"  # 平台漏单: the bank moved money our books do not hold
    AMOUNT_DIFFERS = "amount_differs"  # a line for something of another amount (short, over)
    SUSPENSE = "suspense"  # a line the books hold in suspense: nobody knows yet what it is for
    STATEMENT_MISSING = "statement_missing"  # no statement yet says what the bank did that day
    STATEMENT_GAP = "statement_gap"  # a statement does not open where the one before closed
    UNEXPLAINED = "unexplained"  # the difference no item accounts for


TIMING = frozenset({ItemKind.IN_TRANSIT})


@dataclass(frozen=True, slots=True)
class Item:
    kind: ItemKind
    ref: str  # what it is about: a payment reference, "line:<id>", "exception:<id>"...
    effect: int  # fen: how much it makes the bank's balance exceed the books'
    since: date | None  # when it started (instructed, booked by the bank, opened)
    detail: str


@dataclass(frozen=True, slots=True)
class BankSide:
    """What the bank's statements say of the day: ``None`` figures when no statement
    covers it."""

    opening: int
    credits: int
    debits: int
    closing: int
    statements: tuple[str, ...]  # the bank's ids of the statements read


@dataclass(frozen=True, slots=True)
class DayFigures:
    account: str  # the bank account's number
    day: date
    bank: BankSide | None
    books: int  # fen: the books' balance of the account for the day
    difference: int  # bank closing less books (0 when the bank said nothing)
    explained: int  # the items' effects, summed
    items: tuple[Item, ...]
    clean: bool

    @property
    def open_items(self) -> int:
        return sum(1 for item in self.items if item.kind not in TIMING)

    def fingerprint(self) -> str:
        """Two runs of a day that found the same thing have the same fingerprint."""
        body = json.dumps(asdict(self), sort_keys=True, default=str)
        return hashlib.sha256(body.encode()).hexdigest()


def payment_item(ref: str, amount: int, instructed_on: date, day: date, window: int) -> Item:
    """A payment instructed by ``day`` that the bank had not debited by its end: the
    bank still held its money. In transit while no more than ``window`` days old (the
    bank executes a payment file the next business day); missing at the bank after."""
    late = (day - instructed_on).days > window
    return Item(
        ItemKind.MISSING_AT_BANK if late else ItemKind.IN_TRANSIT,
        ref,
        amount,
        instructed_on,
        f"not debited {(day - instructed_on).days} day(s) after: 银行漏单"
        if late
        else "instructed, not yet debited",
    )


def settle_day(
    account: str, day: date, bank: BankSide | None, books: int, items: list[Item]
) -> DayFigures:
    """The verdict: the difference, what the items explain, and whatever is left over
    as an ``unexplained`` item."""
    listed = sorted(items, key=lambda i: (i.kind.value, i.ref))
    if bank is None:
        listed.append(
            Item(
                ItemKind.STATEMENT_MISSING,
                f"statement:{day}",
                0,
                day,
                "no statement covers the day",
            )
        )
        return DayFigures(account, day, None, books, 0, 0, tuple(listed), clean=False)
    difference = bank.closing - books
    explained = sum(item.effect for item in listed)
    if explained != difference:
        listed.append(
            Item(
                ItemKind.UNEXPLAINED,
                f"difference:{day}",
                difference - explained,
                day,
                "the bank and the books differ by more than the listed items",
            )
        )
    clean = all(item.kind in TIMING for item in listed)
    return DayFigures(account, day, bank, books, difference, explained, tuple(listed), clean)
