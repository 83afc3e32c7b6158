"""The annualised rate by the IRR method (PBoC 〔2021〕 No. 3): the Bank's own worked
example, numpy-financial as an outside check, and what any schedule's APR must be."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import date
from decimal import Decimal, localcontext

import numpy_financial as npf
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.pricing.strategies import schedules
from yirong.pricing.apr import annualise, apr_string, irr, schedule_apr, xirr_daily
from yirong.pricing.schedule import Method, Schedule, build_schedule

START = date(2026, 1, 15)
MONTHLY = st.sampled_from([m for m in Method if m is not Method.BULLET])
# 1,000 yuan and up: the loans this platform prices (tiny loans are covered in
# test_schedule; their APR is as exact, only their rounding is coarser).
REAL_PRINCIPALS = st.integers(min_value=100_000, max_value=10**11)


def npv_tolerance(schedule: Schedule) -> float:
    """How far rounding can honestly move a no-fee schedule's simple APR off the nominal.

    Each row's interest is off the exact B·i by at most half a fen, so at the nominal
    rate the NPV is off 0 by at most ½·Σ v^k; dividing by the NPV's slope there turns
    that into a rate. Doubled for the curvature between the two rates."""
    i = float(schedule.annual_rate) / 12
    v = 1 / (1 + i)
    rows = schedule.installments
    slack = 0.5 * sum(v**row.n for row in rows)
    slope = sum(row.n * row.total * v ** (row.n + 1) for row in rows)
    return 2 * 12 * slack / slope


# -- the PBoC worked example -------------------------------------------------------


def test_pboc_worked_example() -> None:
    # 100,000 yuan, a 1,000 yuan fee taken up front, 12 monthly payments of 8,833.30.
    period_rate = irr([-(10_000_000 - 100_000), *[883_330] * 12])
    apr = annualise(period_rate, 12)
    assert round(period_rate * 100, 5) == Decimal("1.06698")  # % a month
    assert apr_string(apr.simple) == "0.1280"
    assert apr_string(apr.compound) == "0.1358"
    assert abs(apr.simple - period_rate * 12) < Decimal("1e-25")
    assert apr.periods_per_year == 12


# -- irr ---------------------------------------------------------------------------


def test_irr_of_zero_interest_is_exactly_zero() -> None:
    assert irr([-1_000, 333, 333, 334]) == 0
    assert xirr_daily([(0, -500), (30, 500)]) == 0


def test_irr_of_one_period() -> None:
    assert irr([-100, 110]) == Decimal("0.1")
    assert irr([-1_000_000, 1_000_001]) == Decimal("0.000001")


def test_irr_finds_negative_rates() -> None:
    assert math.isclose(float(irr([-100, 0, 0, 74])), npf.irr([-100, 0, 0, 74]), abs_tol=1e-12)


def test_irr_does_not_depend_on_the_callers_decimal_context() -> None:
    flows = [-9_900_000, *[883_330] * 12]
    expected = irr(flows)
    with localcontext() as ctx:
        ctx.prec = 6
        assert irr(flows) == expected


def test_irr_of_a_30_year_mortgage_is_the_monthly_rate() -> None:
    schedule = build_schedule(
        100_000_000, Decimal("0.049"), Method.EQUAL_INSTALLMENT, START, periods=360
    )
    apr = schedule_apr(schedule)
    assert abs(apr.period_rate - Decimal("0.049") / 12) < Decimal("1e-9")
    assert apr_string(apr.simple) == "0.0490"
    assert apr_string(apr.compound) == "0.0501"  # (1 + 0.049/12)^12 − 1 = 5.0116%


@pytest.mark.parametrize(
    ("flows", "complaint"),
    [
        ([], "both"),
        ([-100], "both"),
        ([100, 100], "both"),
        ([-100, -1], "both"),
        ([0, 0, 0], "both"),
        ([-100, 100, 0, -7], "more than once"),
        ([-5, Decimal("10.5"), 1, -8, 1], "more than once"),
        ([-100, 110.0], "int fen or finite Decimals"),
        ([-100, Decimal("Infinity")], "int fen or finite Decimals"),
        ([-1, 10**30], "beyond"),
    ],
)
def test_flows_without_a_unique_rate_are_refused(flows: list[int], complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        irr(flows)


def test_xirr_refuses_days_before_day_0() -> None:
    with pytest.raises(ValueError, match="day offsets"):
        xirr_daily([(-1, -100), (30, 101)])


@settings(max_examples=60, deadline=None)
@given(
    schedules(methods=MONTHLY, max_periods=120),
    st.integers(min_value=0, max_value=10**6),
)
def test_irr_agrees_with_numpy_financial(schedule: Schedule, fee_per_million: int) -> None:
    fee = schedule.principal * fee_per_million // 10**6 // 2
    flows = [-(schedule.principal - fee), *(row.total for row in schedule.installments)]
    expected = npf.irr(flows)
    assert abs(float(irr(flows)) - expected) <= 1e-9


# -- schedule_apr ------------------------------------------------------------------


@given(schedules(methods=st.just(Method.EQUAL_INSTALLMENT), principals=REAL_PRINCIPALS))
def test_without_a_fee_the_apr_is_the_nominal_rate(schedule: Schedule) -> None:
    apr = schedule_apr(schedule)
    tolerance = npv_tolerance(schedule)
    assert tolerance < 24 / schedule.principal * 1.01  # the bound is about 12 / P itself
    assert abs(float(apr.simple) - float(schedule.annual_rate)) <= tolerance


@given(schedules(methods=MONTHLY, principals=REAL_PRINCIPALS), st.data())
def test_a_fee_lifts_the_apr_above_the_nominal_rate(
    schedule: Schedule, data: st.DataObject
) -> None:
    # More than half a fen per row: enough to outweigh any rounding in the rows.
    periods = len(schedule.installments)
    fee = data.draw(st.integers(min_value=periods, max_value=schedule.principal // 2))
    with_fee = schedule_apr(replace(schedule, fee=fee))
    assert with_fee.simple > schedule.annual_rate
    assert with_fee.period_rate > schedule_apr(schedule).period_rate


@pytest.mark.parametrize(("day_basis", "interest"), [(360, 15_000), (365, 14_795)])
def test_bullet_apr_is_a_daily_irr_on_the_day_basis(day_basis: int, interest: int) -> None:
    schedule = build_schedule(
        1_000_000, Decimal("0.18"), Method.BULLET, START, days=30, day_basis=day_basis
    )
    apr = schedule_apr(schedule)
    assert apr.periods_per_year == day_basis
    # (1 + r)^30 = repaid / received, in closed form.
    expected_daily = ((1_000_000 + interest) / 1_000_000) ** (1 / 30) - 1
    assert math.isclose(float(apr.period_rate), expected_daily, rel_tol=1e-12)
    # Daily compounding inside the 30 days puts the IRR a little under the 18% simple rate.
    assert apr_string(apr.simple) == "0.1787"
    assert Decimal("0.178") < apr.simple < Decimal("0.18")


def test_bullet_fee_counts_in_its_apr() -> None:
    schedule = build_schedule(1_000_000, Decimal("0.18"), Method.BULLET, START, days=30, fee=5_000)
    daily = float(schedule_apr(schedule).period_rate)
    assert math.isclose((1 + daily) ** 30, 1_015_000 / 995_000, rel_tol=1e-12)


def test_xirr_daily_nets_same_day_flows_and_matches_a_closed_form() -> None:
    rate = xirr_daily([(0, -1_000_000), (0, 10_000), (90, 1_050_000)])
    assert math.isclose((1 + float(rate)) ** 90, 1_050_000 / 990_000, rel_tol=1e-12)


# -- apr_string --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("0.049"), "0.0490"),
        (Decimal("0.04905"), "0.0491"),
        (Decimal("0.049049999"), "0.0490"),
        (Decimal("0.128038018510353145774526"), "0.1280"),
        (Decimal(0), "0.0000"),
        (Decimal("-0.00001"), "0.0000"),
        (Decimal("-0.0955"), "-0.0955"),
        (Decimal("1.5"), "1.5000"),
    ],
)
def test_apr_string_is_four_places_half_up(value: Decimal, text: str) -> None:
    assert apr_string(value) == text
