"""Repayment schedules in whole fen for the four usual methods.

Every row is rounded half-up to the fen from exact rationals (``money.round_half_up_fen``:
a row of exactly half a fen rounds up on every machine), and the last row takes the
residue, so the principal parts add up to the principal exactly and the final balance
is 0."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction

from yirong.money import round_half_up_fen

MONTHS_PER_YEAR = 12
DAY_BASES = frozenset({360, 365})


class Method(StrEnum):
    EQUAL_INSTALLMENT = "equal-installment"  # 等额本息
    EQUAL_PRINCIPAL = "equal-principal"  # 等额本金
    INTEREST_ONLY = "interest-only"  # 先息后本
    BULLET = "bullet"  # 一次性还本付息


@dataclass(frozen=True, slots=True)
class Installment:
    """One row; amounts in fen. ``balance`` is the principal still owed after it."""

    n: int
    due_date: date
    principal: int
    interest: int
    total: int
    balance: int


@dataclass(frozen=True, slots=True)
class Schedule:
    principal: int
    annual_rate: Decimal
    method: Method
    start: date
    day_basis: int
    installments: tuple[Installment, ...]
    fee: int = 0  # upfront, paid by the borrower: it lowers what they receive, not what they owe

    @property
    def total_interest(self) -> int:
        return sum(row.interest for row in self.installments)

    @property
    def total_repaid(self) -> int:
        return sum(row.total for row in self.installments)


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, clamped to the month's end (Jan 31 + 1 -> Feb 28/29)."""
    year, month_index = divmod(day.year * MONTHS_PER_YEAR + day.month - 1 + months, MONTHS_PER_YEAR)
    month = month_index + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def level_payment(principal: int, annual_rate: Decimal, periods: int) -> int:
    """等额本息's monthly payment A = P·i·(1+i)^n / ((1+i)^n − 1), half-up to the fen."""
    _check(principal, annual_rate, Method.EQUAL_INSTALLMENT, periods, 360, None, 0)
    return _level_payment(principal, Fraction(annual_rate) / MONTHS_PER_YEAR, periods)


def _level_payment(principal: int, i: Fraction, periods: int) -> int:
    if i == 0:
        return round_half_up_fen(Fraction(principal, periods))
    growth = (1 + i) ** periods
    return round_half_up_fen(principal * i * growth / (growth - 1))


def build_schedule(
    principal: int,
    annual_rate: Decimal,
    method: Method,
    start: date,
    *,
    periods: int = 1,
    day_basis: int = 360,
    days: int | None = None,
    fee: int = 0,
) -> Schedule:
    """The schedule of a loan of ``principal`` fen drawn on ``start``.

    Monthly methods: row k is due ``add_months(start, k)`` at i = annual_rate / 12.
    Bullet: one row, due ``start + days`` or, without ``days``, ``periods`` months
    later; interest = P × annual_rate × days / day_basis."""
    _check(principal, annual_rate, method, periods, day_basis, days, fee)
    if method is Method.BULLET:
        rows = _bullet(principal, annual_rate, start, periods, day_basis, days)
    else:
        rows = _monthly(principal, Fraction(annual_rate) / MONTHS_PER_YEAR, method, start, periods)
    return Schedule(principal, annual_rate, method, start, day_basis, rows, fee)


def _monthly(
    principal: int, i: Fraction, method: Method, start: date, periods: int
) -> tuple[Installment, ...]:
    payment = _level_payment(principal, i, periods)
    part = round_half_up_fen(Fraction(principal, periods))
    rows: list[Installment] = []
    balance = principal
    for k in range(1, periods + 1):
        interest = round_half_up_fen(balance * i)
        if k == periods:
            repaid = balance
        elif method is Method.EQUAL_INSTALLMENT:
            repaid = payment - interest
        elif method is Method.EQUAL_PRINCIPAL:
            repaid = part
        else:
            repaid = 0
        # Rounding A or P/n up, period after period, can repay a tiny loan before its
        # last row; capping keeps the balance from going negative (later rows are 0).
        repaid = min(repaid, balance)
        balance -= repaid
        rows.append(
            Installment(k, add_months(start, k), repaid, interest, repaid + interest, balance)
        )
    return tuple(rows)


def _bullet(
    principal: int,
    annual_rate: Decimal,
    start: date,
    periods: int,
    day_basis: int,
    days: int | None,
) -> tuple[Installment, ...]:
    due = start + timedelta(days=days) if days is not None else add_months(start, periods)
    elapsed = (due - start).days
    interest = round_half_up_fen(principal * Fraction(annual_rate) * elapsed / day_basis)
    return (Installment(1, due, principal, interest, principal + interest, 0),)


def _check(
    principal: int,
    annual_rate: Decimal,
    method: Method,
    periods: int,
    day_basis: int,
    days: int | None,
    fee: int,
) -> None:
    if not _is_int(principal) or principal <= 0:
        raise ValueError(f"principal must be a positive number of fen, not {principal!r}")
    # A float rate (0.049 is not 49/1000) would leak binary error into every row.
    if not isinstance(annual_rate, Decimal) or not annual_rate.is_finite() or annual_rate < 0:
        raise ValueError(f"annual_rate must be a non-negative Decimal, not {annual_rate!r}")
    if not _is_int(periods) or periods < 1:
        raise ValueError(f"periods must be at least 1, not {periods!r}")
    if day_basis not in DAY_BASES:
        raise ValueError(f"day_basis must be 360 or 365, not {day_basis!r}")
    if days is not None:
        if method is not Method.BULLET:
            raise ValueError("days applies only to a bullet loan")
        if periods != 1:
            raise ValueError("give a bullet loan either days or periods, not both")
        if not _is_int(days) or days < 1:
            raise ValueError(f"days must be at least 1, not {days!r}")
    if not _is_int(fee) or fee < 0 or fee >= principal:
        raise ValueError(f"fee must be at least 0 and below the principal, not {fee!r}")


def _is_int(value: object) -> bool:
    # bool is an int subclass; True fen is a bug, not an amount.
    return isinstance(value, int) and not isinstance(value, bool)
