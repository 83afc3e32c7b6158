"""Opening the books: the platform's book, its house accounts and the first business
date. The business date is read from here inside each transaction; nothing that
decides money reads the wall clock."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select, update

from yirong.books.tables import BusinessCalendar
from yirong.errors import YirongError
from yirong.infra.db import Tx, read_only, transactional
from yirong.ledger import service as ledger
from yirong.ledger.model import PLATFORM_BOOK, AccountKind

# Hot accounts: almost every movement touches them, so their balance is spread over
# shards (rows that sum to the balance) and no single row lock serialises traffic.
HOT_SHARDS = 16
RESERVE = "platform:reserve"  # 备付金账户: the reserve bank account (an asset)
CARRIER = "platform:carrier"  # pre-payments owed to the carrier until settled
SUSPENSE = "platform:suspense"  # money received that matches nothing yet
REVENUE = "platform:revenue_share"  # 分润: the platform's share of interest collected

HOUSE_ACCOUNTS: tuple[tuple[str, AccountKind, str, int], ...] = (
    (RESERVE, AccountKind.ASSET, "Reserve account 备付金账户", HOT_SHARDS),
    (CARRIER, AccountKind.LIABILITY, "Owed to the carrier (pre-payments) 运营商预存款", HOT_SHARDS),
    (SUSPENSE, AccountKind.LIABILITY, "Suspense: unmatched receipts 待匹配资金", 1),
    (REVENUE, AccountKind.INCOME, "Revenue share earned 分润收入", HOT_SHARDS),
)


@transactional
def open_books(tx: Tx, business_date: date) -> date:
    """Open the platform's books on their first business date (once)."""
    if tx.session.get(BusinessCalendar, 1) is not None:
        raise YirongError("books_already_open")
    ledger.open_book(tx, PLATFORM_BOOK, "Yirong platform books")
    for code, kind, name, shards in HOUSE_ACCOUNTS:
        ledger.open_account(
            tx,
            code,
            book=PLATFORM_BOOK,
            kind=kind,
            name=name,
            opened_on=business_date,
            owner_type="platform",
            shards=shards,
        )
    tx.session.add(BusinessCalendar(id=1, business_date=business_date, opened_on=business_date))
    return business_date


def business_date_of(tx: Tx) -> date:
    found = tx.conn.scalar(select(BusinessCalendar.business_date).where(BusinessCalendar.id == 1))
    if found is None:
        raise YirongError("books_not_open")
    return found


@read_only
def current_business_date(tx: Tx) -> date:
    return business_date_of(tx)


def advance_business_date(tx: Tx, to: date) -> date:
    """Move the books to the next day, releasing holds that expired. Refuses to skip
    a day or to go back."""
    today = business_date_of(tx)
    if to != today + timedelta(days=1):
        raise YirongError(
            "business_date_invalid",
            f"The books are on {today}; the next business date is {today + timedelta(days=1)}.",
            current=today.isoformat(),
            requested=to.isoformat(),
        )
    tx.conn.execute(
        update(BusinessCalendar).where(BusinessCalendar.id == 1).values(business_date=to)
    )
    # A hold is valid through its last day; on the next it is released, booked on it.
    ledger.expire_holds(tx, to)
    return to


def next_business_day_in(tx: Tx) -> date:
    """Move the books on by exactly one day (the end of day's last step)."""
    return advance_business_date(tx, business_date_of(tx) + timedelta(days=1))


next_business_day = transactional(next_business_day_in)
