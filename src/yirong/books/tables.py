"""The business date (会计日): the books' own calendar, apart from the wall clock."""

from __future__ import annotations

from datetime import date

from sqlalchemy import CheckConstraint, Date, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from yirong.infra.base import Base
from yirong.infra.opaque import PublicRef

# A bank statement line's id on the wire: bl_ and 14 digits that do not count the
# lines. Only ever shown (never asked for), so its ``missing`` code is never raised.
BANK_LINE = PublicRef("bl_", "bank_line", "exception_not_found")


class BusinessCalendar(Base):
    """One row: the date every movement is booked on until the end of day moves it."""

    __tablename__ = "business_calendar"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, default=1)
    business_date: Mapped[date] = mapped_column(Date)
    opened_on: Mapped[date] = mapped_column(Date)


class BankAccount(Base):
    """A bank account the platform holds (the reserve account 备付金账户, and any other),
    with the ledger account that mirrors it: what the bank's statements of this account
    show is what that ledger account moves by, line for line."""

    __tablename__ = "bank_accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    bank_name: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))  # the account's name at the bank (户名)
    currency: Mapped[str] = mapped_column(String(3))
    purpose: Mapped[str] = mapped_column(String(16))  # reserve
    ledger_account: Mapped[str] = mapped_column(String(64), unique=True)
    opened_on: Mapped[date] = mapped_column(Date)
