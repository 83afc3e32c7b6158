"""Repayment schedules: the published mortgage figure, numpy-financial as an outside
check, and the invariants every method keeps for any loan."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal, localcontext

import numpy_financial as npf
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.pricing.strategies import schedules
from yirong.pricing.schedule import (
    Installment,
    Method,
    Schedule,
    add_months,
    build_schedule,
    level_payment,
)

START = date(2026, 1, 15)
RATE = Decimal("0.049")
MORTGAGE = 100_000_000  # 1,000,000 yuan


def half_up(value: Decimal) -> int:
    """The contract's rounding, done the way an outside check would: Decimal quantize."""
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def reference_payment(principal: int, annual_rate: Decimal, periods: int) -> int:
    with localcontext() as ctx:
        ctx.prec = 100
        i = annual_rate / 12
        if i == 0:
            return half_up(Decimal(principal) / periods)
        growth = (1 + i) ** periods
        return half_up(principal * i * growth / (growth - 1))


def reference_interest(balance: int, annual_rate: Decimal) -> int:
    with localcontext() as ctx:
        ctx.prec = 100
        return half_up(balance * annual_rate / 12)


# -- add_months --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2028, 1, 31), 1, date(2028, 2, 29)),
        (date(2026, 1, 31), 2, date(2026, 3, 31)),  # from the start, not from Feb 28
        (date(2026, 3, 31), 1, date(2026, 4, 30)),
        (date(2026, 12, 15), 1, date(2027, 1, 15)),
        (date(2026, 11, 30), 14, date(2028, 1, 30)),
        (date(2026, 3, 31), -1, date(2026, 2, 28)),
        (date(2026, 5, 10), 0, date(2026, 5, 10)),
    ],
)
def test_add_months_keeps_the_day_or_clamps_to_month_end(
    day: date, months: int, expected: date
) -> None:
    assert add_months(day, months) == expected


# -- equal installment (等额本息) -----------------------------------------------------


def test_mortgage_pays_the_published_5307_27_yuan_a_month() -> None:
    schedule = build_schedule(MORTGAGE, RATE, Method.EQUAL_INSTALLMENT, START, periods=360)
    rows = schedule.installments
    assert level_payment(MORTGAGE, RATE, 360) == 530_727
    assert rows[0] == Installment(1, date(2026, 2, 15), 122_394, 408_333, 530_727, 99_877_606)
    assert {row.total for row in rows[:-1]} == {530_727}
    assert rows[-1].due_date == date(2056, 1, 15)
    assert rows[-1].balance == 0
    assert schedule.total_repaid == MORTGAGE + schedule.total_interest


def test_mortgage_rows_agree_with_numpy_financial() -> None:
    rows = build_schedule(MORTGAGE, RATE, Method.EQUAL_INSTALLMENT, START, periods=360).installments
    i = 0.049 / 12
    assert round(float(npf.pmt(i, 360, -MORTGAGE))) == 530_727
    # Until rounding drift builds up late in the loan, each part is within a fen.
    for k in (1, 2, 12, 60, 120, 240):
        assert abs(rows[k - 1].interest - float(npf.ipmt(i, k, 360, -MORTGAGE))) <= 1
        assert abs(rows[k - 1].principal - float(npf.ppmt(i, k, 360, -MORTGAGE))) <= 1
    # Later, the gap in the balance stays within what a fixed rounding of A
    # (|A − exact A|) plus half a fen of interest rounding per period can compound to.
    exact_payment = float(npf.pmt(i, 360, -MORTGAGE))
    per_period = abs(530_727 - exact_payment) + 0.5
    for row in rows:
        exact_balance = float(npf.fv(i, row.n, exact_payment, -MORTGAGE))
        compounded = ((1 + i) ** row.n - 1) / i
        assert abs(row.balance - exact_balance) <= per_period * compounded + 1e-6


def test_zero_rate_splits_the_principal_and_the_last_row_takes_the_residue() -> None:
    rows = build_schedule(
        1_000, Decimal(0), Method.EQUAL_INSTALLMENT, START, periods=3
    ).installments
    assert [(r.principal, r.interest, r.balance) for r in rows] == [
        (333, 0, 667),
        (333, 0, 334),
        (334, 0, 0),
    ]


def test_a_tiny_loan_is_repaid_early_rather_than_overpaid() -> None:
    # A = round(1,000 / 360) = 3 fen: 334 rows of 3 would repay 1,002.
    rows = build_schedule(
        1_000, Decimal(0), Method.EQUAL_INSTALLMENT, START, periods=360
    ).installments
    assert [r.principal for r in rows[332:336]] == [3, 1, 0, 0]
    assert rows[333].balance == 0
    assert sum(r.principal for r in rows) == 1_000
    assert len(rows) == 360


@given(schedules(methods=st.just(Method.EQUAL_INSTALLMENT)))
def test_equal_installment_rows_pay_the_level_payment(schedule: Schedule) -> None:
    rows = schedule.installments
    payment = reference_payment(schedule.principal, schedule.annual_rate, len(rows))
    balance = schedule.principal
    for row in rows:
        assert row.interest == reference_interest(balance, schedule.annual_rate)
        if row is not rows[-1]:
            # Only a loan too small for its length ends early (see the tiny-loan test).
            assert row.total == payment or row.balance == 0
        balance = row.balance


# -- equal principal (等额本金), interest only (先息后本) ----------------------------------


def test_equal_principal_example() -> None:
    rows = build_schedule(
        1_200_000, Decimal("0.12"), Method.EQUAL_PRINCIPAL, START, periods=12
    ).installments
    assert [(r.principal, r.interest) for r in rows[:3]] == [
        (100_000, 12_000),
        (100_000, 11_000),
        (100_000, 10_000),
    ]
    assert (rows[-1].principal, rows[-1].interest, rows[-1].total) == (100_000, 1_000, 101_000)


@given(schedules(methods=st.just(Method.EQUAL_PRINCIPAL)))
def test_equal_principal_rows_repay_p_over_n(schedule: Schedule) -> None:
    rows = schedule.installments
    part = half_up(Decimal(schedule.principal) / len(rows))
    balance = schedule.principal
    for row in rows:
        assert row.interest == reference_interest(balance, schedule.annual_rate)
        if row is not rows[-1]:
            assert row.principal == min(part, balance)
        balance = row.balance


@given(schedules(methods=st.just(Method.INTEREST_ONLY)))
def test_interest_only_pays_interest_then_the_principal_at_the_end(schedule: Schedule) -> None:
    interest = reference_interest(schedule.principal, schedule.annual_rate)
    assert all(row.interest == interest for row in schedule.installments)
    assert [row.principal for row in schedule.installments[:-1]] == [0] * (
        len(schedule.installments) - 1
    )
    assert schedule.installments[-1].principal == schedule.principal


def test_interest_only_example() -> None:
    rows = build_schedule(
        1_000_000, Decimal("0.0725"), Method.INTEREST_ONLY, START, periods=3
    ).installments
    # 1,000,000 × 0.0725 / 12 = 6,041.666… fen
    assert [(r.principal, r.interest, r.total) for r in rows] == [
        (0, 6_042, 6_042),
        (0, 6_042, 6_042),
        (1_000_000, 6_042, 1_006_042),
    ]


# -- bullet (一次性还本付息) --------------------------------------------------------------


@pytest.mark.parametrize(("day_basis", "interest"), [(360, 15_000), (365, 14_795)])
def test_bullet_for_days_accrues_on_the_day_basis(day_basis: int, interest: int) -> None:
    schedule = build_schedule(
        1_000_000, Decimal("0.18"), Method.BULLET, START, days=30, day_basis=day_basis
    )
    assert schedule.installments == (
        Installment(1, date(2026, 2, 14), 1_000_000, interest, 1_000_000 + interest, 0),
    )


def test_bullet_without_days_runs_whole_months_of_actual_days() -> None:
    schedule = build_schedule(
        1_000_000, Decimal("0.18"), Method.BULLET, date(2026, 1, 31), periods=1, day_basis=365
    )
    (row,) = schedule.installments
    assert row.due_date == date(2026, 2, 28)
    assert row.interest == half_up(Decimal(1_000_000) * Decimal("0.18") * 28 / 365)  # 13,808


def test_interest_exactly_half_a_fen_rounds_up() -> None:
    # 100 fen × 6% × 30 / 360 = 0.5 fen exactly.
    schedule = build_schedule(100, Decimal("0.06"), Method.BULLET, START, days=30)
    assert schedule.installments[0].interest == 1
    # 300 fen × 2% / 12 = 0.5 fen exactly, each month.
    rows = build_schedule(300, Decimal("0.02"), Method.INTEREST_ONLY, START, periods=2)
    assert [r.interest for r in rows.installments] == [1, 1]


# -- every method -----------------------------------------------------------------


@given(schedules())
def test_every_schedule_repays_the_principal_exactly(schedule: Schedule) -> None:
    rows = schedule.installments
    assert sum(row.principal for row in rows) == schedule.principal
    assert [row.n for row in rows] == list(range(1, len(rows) + 1))
    balance = schedule.principal
    due = schedule.start
    for row in rows:
        assert row.principal >= 0
        assert row.interest >= 0
        assert row.total == row.principal + row.interest
        assert row.balance == balance - row.principal
        assert row.balance <= balance
        assert row.due_date > due
        balance, due = row.balance, row.due_date
    assert balance == 0
    assert schedule.total_repaid == schedule.principal + schedule.total_interest


@given(schedules(methods=st.sampled_from([m for m in Method if m is not Method.BULLET])))
def test_monthly_schedules_fall_due_each_month_from_the_start(schedule: Schedule) -> None:
    assert [row.due_date for row in schedule.installments] == [
        add_months(schedule.start, k) for k in range(1, len(schedule.installments) + 1)
    ]


# -- refusals ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("principal", "rate", "method", "options", "complaint"),
    [
        (0, RATE, Method.EQUAL_INSTALLMENT, {}, "principal"),
        (-100, RATE, Method.EQUAL_INSTALLMENT, {}, "principal"),
        (True, RATE, Method.EQUAL_INSTALLMENT, {}, "principal"),
        (100, Decimal("-0.01"), Method.EQUAL_INSTALLMENT, {}, "annual_rate"),
        (100, Decimal("NaN"), Method.EQUAL_INSTALLMENT, {}, "annual_rate"),
        (100, 0.049, Method.EQUAL_INSTALLMENT, {}, "annual_rate"),
        (100, RATE, Method.EQUAL_INSTALLMENT, {"periods": 0}, "periods"),
        (100, RATE, Method.EQUAL_PRINCIPAL, {"day_basis": 366}, "day_basis"),
        (100, RATE, Method.BULLET, {"days": 0}, "days"),
        (100, RATE, Method.BULLET, {"days": 30, "periods": 2}, "not both"),
        (100, RATE, Method.INTEREST_ONLY, {"days": 30}, "only to a bullet"),
        (100, RATE, Method.BULLET, {"fee": -1}, "fee"),
        (100, RATE, Method.BULLET, {"fee": 100}, "fee"),
    ],
)
def test_nonsense_is_refused(
    principal: int, rate: Decimal, method: Method, options: dict[str, int], complaint: str
) -> None:
    with pytest.raises(ValueError, match=complaint):
        build_schedule(principal, rate, method, START, **options)
