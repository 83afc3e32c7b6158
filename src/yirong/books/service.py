"""Opening the books: the platform's book, its house accounts and the first business
date. The business date is read from here inside each transaction; nothing that
decides money reads the wall clock."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from yirong.books.tables import BankAccount, BusinessCalendar
from yirong.errors import YirongError
from yirong.infra.db import Retryable, Tx, read_only, transactional
from yirong.infra.direct import send
from yirong.ledger import service as ledger
from yirong.ledger.model import PLATFORM_BOOK, AccountKind

# Hot accounts: almost every movement touches them, so their balance is spread over
# shards (rows that sum to the balance) and no single row lock serialises traffic.
HOT_SHARDS = 16
RESERVE = "platform:reserve"  # 备付金账户: the reserve bank account (an asset)
CARRIER = "platform:carrier"  # pre-payments owed to the carrier until settled
SUSPENSE = "platform:suspense"  # money received that matches nothing yet
REVENUE = "platform:revenue_share"  # 分润: the platform's share of interest collected
# 订单融资: an order's advance, the agent's part and its margin, between their arrival
# and the supplier's payout (the margin until the advance is repaid).
ORDER_ESCROW = "platform:order_escrow"

HOUSE_ACCOUNTS: tuple[tuple[str, AccountKind, str, int], ...] = (
    (RESERVE, AccountKind.ASSET, "Reserve account 备付金账户", HOT_SHARDS),
    (CARRIER, AccountKind.LIABILITY, "Owed to the carrier (pre-payments) 运营商预存款", HOT_SHARDS),
    (SUSPENSE, AccountKind.LIABILITY, "Suspense: unmatched receipts 待匹配资金", 1),
    (REVENUE, AccountKind.INCOME, "Revenue share earned 分润收入", HOT_SHARDS),
    (ORDER_ESCROW, AccountKind.LIABILITY, "Order financing escrow 订单融资监管资金", 1),
)


@transactional
def open_books(tx: Tx, business_date: date) -> date:
    """Open the platform's books on their first business date (once)."""
    if tx.session.get(BusinessCalendar, 1) is not None:
        raise YirongError("books_already_open")
    ledger.open_book(tx, PLATFORM_BOOK, "Yirong platform books")
    for code, _, _, _ in HOUSE_ACCOUNTS:
        open_house_account(tx, code, business_date)
    tx.session.add(BusinessCalendar(id=1, business_date=business_date, opened_on=business_date))
    return business_date


def open_house_account(tx: Tx, code: str, opened_on: date) -> None:
    """Open one of the house accounts (books opened before it existed open it on first
    use; opening it again with the same attributes does nothing)."""
    _, kind, name, shards = next(h for h in HOUSE_ACCOUNTS if h[0] == code)
    ledger.open_account(
        tx,
        code,
        book=PLATFORM_BOOK,
        kind=kind,
        name=name,
        opened_on=opened_on,
        owner_type="platform",
        shards=shards,
    )


def business_date_of(tx: Tx) -> date:
    """The books' date, read once per transaction (a use case asks for it several
    times; only :func:`advance_business_date` moves it, and it tells the transaction)."""
    found: date | None = tx.memo.get(_TODAY)
    if found is None:
        found = send(tx, _TODAY_QUERY).scalar()
        if found is None:
            raise YirongError("books_not_open")
        tx.memo[_TODAY] = found
    return found


_TODAY = "books.business_date"
# Built once: on a busy server, building the statement cost more than sending it.
_TODAY_QUERY = select(BusinessCalendar.business_date).where(BusinessCalendar.id == 1)
# The same, as a value for another statement to carry (see ``note_business_date``).
BUSINESS_DATE = _TODAY_QUERY.scalar_subquery()


def note_business_date(tx: Tx, found: date | None) -> None:
    """The books' date as a statement of ``tx`` read it (carrying ``BUSINESS_DATE``),
    so that :func:`business_date_of` need not ask again: a round trip saved where a
    request's first statement can bring it along."""
    if found is not None:
        tx.memo.setdefault(_TODAY, found)


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
    tx.memo[_TODAY] = to
    # A hold is valid through its last day; on the next it is released, booked on it.
    ledger.expire_holds(tx, to)
    return to


def next_business_day_in(tx: Tx) -> date:
    """Move the books on by exactly one day (the end of day's last step)."""
    return advance_business_date(tx, business_date_of(tx) + timedelta(days=1))


next_business_day = transactional(next_business_day_in)


# ---------------------------------------------------------------- bank accounts

_ACCOUNT_NUMBER = re.compile(r"^[0-9A-Z]{6,34}$")


@dataclass(frozen=True, slots=True)
class BankAccountView:
    id: int
    number: str
    bank_name: str
    name: str
    currency: str
    purpose: str
    ledger_account: str
    opened_on: date


def _bank_view(row: BankAccount) -> BankAccountView:
    return BankAccountView(
        row.id,
        row.number,
        row.bank_name,
        row.name,
        row.currency,
        row.purpose,
        row.ledger_account,
        row.opened_on,
    )


def normalize_account_number(number: str) -> str:
    """As banks print it, without the spaces and dashes people add."""
    return re.sub(r"[\s-]", "", number).upper()


@transactional
def add_bank_account(tx: Tx, number: str, bank_name: str, name: str) -> BankAccountView:
    """Record a bank account the platform holds. The first is the reserve account the
    books opened with (``platform:reserve``); each later one gets a ledger account of
    its own, so that every bank account is reconciled against its own balance.
    Adding the same account again returns it."""
    number = normalize_account_number(number)
    if not _ACCOUNT_NUMBER.match(number):
        raise YirongError("bank_account_invalid", number=number)
    if not bank_name.strip() or not name.strip():
        raise YirongError("name_invalid")
    found = tx.session.scalars(select(BankAccount).where(BankAccount.number == number)).first()
    if found is not None:
        if (found.bank_name, found.name) != (bank_name, name):
            raise YirongError("bank_account_taken", number=number)
        return _bank_view(found)
    today = business_date_of(tx)
    first = tx.session.scalar(select(BankAccount.id).limit(1)) is None
    code = RESERVE if first else f"platform:bank:{number}"
    try:
        if not first:
            ledger.open_account(
                tx,
                code,
                book=PLATFORM_BOOK,
                kind=AccountKind.ASSET,
                name=f"Reserve account at {bank_name} {number}"[:200],
                opened_on=today,
                owner_type="platform",
                shards=HOT_SHARDS,
            )
        row = BankAccount(
            number=number,
            bank_name=bank_name,
            name=name,
            currency="CNY",
            purpose="reserve",
            ledger_account=code,
            opened_on=today,
        )
        tx.session.add(row)
        tx.session.flush()
    except IntegrityError as exc:
        # Another transaction recorded this account, or took the reserve's place as
        # the first, since we looked: start again, and see what it recorded.
        raise Retryable from exc
    return _bank_view(row)


def bank_accounts_in(tx: Tx) -> list[BankAccountView]:
    return [_bank_view(r) for r in tx.session.scalars(select(BankAccount).order_by(BankAccount.id))]


bank_accounts = read_only(bank_accounts_in)


def bank_accounts_numbered(tx: Tx, numbers: Iterable[str]) -> dict[str, BankAccountView]:
    """The platform's bank accounts by number, holding at least those of ``numbers``
    that it holds. A recorded account never changes and is never removed, so they are
    kept for the process's life and read again only when a number is not among them
    (recorded since, perhaps by another worker): every statement upload asks."""
    # One dict, replaced whole and never changed: a caller on another thread may be
    # reading the one it was given.
    kept: list[dict[str, BankAccountView]] = tx.db.cache("books.bank_accounts", lambda: [{}])
    known = kept[0]
    if any(n not in known for n in numbers):
        known = kept[0] = {a.number: a for a in bank_accounts_in(tx)}
    return known
