"""The annualised rate (PBoC 〔2021〕 No. 3): the Bank's own worked example, a table of
figures worked out by hand, numpy-financial as an outside check of the IRR, and what any
schedule's APR must be."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction

import numpy_financial as npf
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.pricing.strategies import schedules
from yirong.pricing.apr import (
    Apr,
    annualise,
    apr_string,
    instalment_apr,
    irr,
    schedule_apr,
    single_repayment_apr,
)
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
    assert single_repayment_apr(500, 500, 30) == Apr(Decimal(0), Fraction(73, 6), 0, 0)


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


@pytest.mark.parametrize(
    ("received", "repaid", "days"), [(0, 100, 30), (100, 0, 30), (100, 101, 0)]
)
def test_a_single_repayment_that_is_not_a_loan_is_refused(
    received: int, repaid: int, days: int
) -> None:
    with pytest.raises(ValueError, match="not a loan"):
        single_repayment_apr(received, repaid, days)


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


# -- the rule, worked by hand --------------------------------------------------------
#
# A single repayment: r = cost / received over the loan's own term; simple = r × 365 /
# days; compound = (1 + r)^(365 / days) − 1. Monthly instalments: r = the IRR per
# month; simple = 12r; compound = (1 + r)^12 − 1. The exponents were worked on a
# calculator to more places than shown; every figure is rounded half-up to 6 places.
HAND_BULLETS = [
    # 90 days at 10.80% on a 360-day basis: 1,000,000 × 0.108 × 90 / 360 = 27,000 fen;
    # 0.027 × 365 / 90 = 0.1095 (the old daily IRR × 360 showed 0.1066, below the
    # contract rate); 1.027^(365/90) − 1 = 0.1141010.
    (1_000_000, "0.108", 360, 90, 0, 27_000, "0.109500", "0.114101"),
    # The same on a 365-day basis: 1,000,000 × 0.108 × 90 / 365 = 26,630.137 -> 26,630;
    # 0.02663 × 365 / 90 = 0.1079994: the 0.137 fen rounding took off, and no more;
    # 1.02663^(365/90) − 1 = 0.1124741.
    (1_000_000, "0.108", 365, 90, 0, 26_630, "0.107999", "0.112474"),
    # 日利率 0.05% (18% on 360 days), whatever the term: 500 fen a day on 1,000,000;
    # 500d / 1,000,000 × 365 / d = 0.1825. Compound (1 + 0.0005d)^(365/d) − 1: daily
    # compounding's 1.0005^365 − 1 = 0.2001594 for one day, down to 0.1825 at a year.
    (1_000_000, "0.18", 360, 1, 0, 500, "0.182500", "0.200159"),
    (1_000_000, "0.18", 360, 30, 0, 15_000, "0.182500", "0.198589"),
    (1_000_000, "0.18", 360, 90, 0, 45_000, "0.182500", "0.195438"),
    (1_000_000, "0.18", 360, 180, 0, 90_000, "0.182500", "0.190948"),
    (1_000_000, "0.18", 360, 365, 0, 182_500, "0.182500", "0.182500"),
    # With a 5,000 fen fee taken up front: 995,000 received, 1,015,000 repaid; cost
    # 20,000 / 995,000 = 0.0201005 a term; × 365 / 30 = 0.2445561, which is the 0.1825
    # above plus more than the fee's own 0.005 × 365 / 30 = 0.0608333 (it is paid out
    # of the cash received); (1,015,000 / 995,000)^(365/30) − 1 = 0.2739607.
    (1_000_000, "0.18", 360, 30, 5_000, 15_000, "0.244556", "0.273961"),
    # Two years at 10% on 365 days: 200,000 fen; 0.2 × 365 / 730 = 0.1; compound
    # 1.2^(1/2) − 1 = 0.0954451, below the simple figure past a year.
    (1_000_000, "0.10", 365, 730, 0, 200_000, "0.100000", "0.095445"),
]


def six(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP))


@pytest.mark.parametrize(
    ("principal", "rate", "basis", "days", "fee", "interest", "simple", "compound"), HAND_BULLETS
)
def test_a_single_repayment_by_hand(
    principal: int,
    rate: str,
    basis: int,
    days: int,
    fee: int,
    interest: int,
    simple: str,
    compound: str,
) -> None:
    schedule = build_schedule(
        principal, Decimal(rate), Method.BULLET, START, days=days, day_basis=basis, fee=fee
    )
    assert schedule.total_interest == interest
    apr = schedule_apr(schedule)
    assert (six(apr.simple), six(apr.compound)) == (simple, compound)
    assert apr.periods_per_year == Fraction(365, days)
    assert apr.higher == max(apr.simple, apr.compound)


def test_a_daily_rate_of_five_hundredths_of_a_percent_is_18_25_percent_simple() -> None:
    # 0.05% a day is 18% on a 360-day basis; 0.0005 × 365 = 0.1825 exactly, for any term.
    for days in (1, 7, 30, 60, 90, 180, 366):
        schedule = build_schedule(
            1_000_000, Decimal("0.18"), Method.BULLET, START, days=days, day_basis=360
        )
        assert schedule_apr(schedule).simple == Decimal("0.1825")
        assert apr_string(schedule_apr(schedule).simple) == "0.1825"


@pytest.mark.parametrize(
    ("method", "principal", "simple", "compound", "off"),
    [
        # 1% a month (12% a year) over 12 months: the IRR per month is 1%, so 12 × 1% =
        # 12%; 1.01^12 − 1 = 0.1268250. 等额本息: A = 100,000 × 0.01 × 1.01^12 /
        # (1.01^12 − 1) = 8,884.8789 yuan -> 888,488 fen; each row's interest is
        # rounded to the fen, half a fen being 5e-8 of 10,000,000: the IRR moves by
        # about that, 1e-7 a month at most.
        (Method.EQUAL_INSTALLMENT, 10_000_000, "0.120000", "0.126825", "1e-7"),
        # 等额本金 on 120,000 yuan: 10,000 yuan a month plus 1% of the balance, exact.
        (Method.EQUAL_PRINCIPAL, 12_000_000, "0.120000", "0.126825", "1e-30"),
        # 先息后本: 1,000 yuan a month, then 100,000 with the last, exact.
        (Method.INTEREST_ONLY, 10_000_000, "0.120000", "0.126825", "1e-30"),
    ],
)
def test_monthly_instalments_by_hand(
    method: Method, principal: int, simple: str, compound: str, off: str
) -> None:
    schedule = build_schedule(principal, Decimal("0.12"), method, START, periods=12)
    apr = schedule_apr(schedule)
    assert (six(apr.simple), six(apr.compound)) == (simple, compound)
    assert apr.periods_per_year == 12
    assert abs(apr.period_rate - Decimal("0.01")) < Decimal(off)


def test_equal_installments_pay_the_hand_computed_amount() -> None:
    schedule = build_schedule(
        10_000_000, Decimal("0.12"), Method.EQUAL_INSTALLMENT, START, periods=12
    )
    assert schedule.installments[0].total == 888_488


def test_instalment_apr_of_the_pboc_example_flows() -> None:
    # The worked example again, through the method's own function: 12.80% / 13.58%.
    apr = instalment_apr(10_000_000 - 100_000, [883_330] * 12)
    assert (apr_string(apr.simple), apr_string(apr.compound)) == ("0.1280", "0.1358")


# -- what any schedule's APR must be ----------------------------------------------------


def rounding_allowance(schedule: Schedule) -> Fraction:
    """How far below the contract rate a fee-free schedule's simple APR may honestly be.

    A bullet: its interest is P·rate·days/basis rounded to the fen, so at most the part
    of a fen that rounding took off is missing: that part / P × 365 / days. Instalments:
    npv_tolerance's bound on what half a fen of interest per row moves the IRR."""
    if schedule.method is not Method.BULLET:
        return Fraction(npv_tolerance(schedule))
    days = (schedule.installments[0].due_date - schedule.start).days
    exact = schedule.principal * Fraction(schedule.annual_rate) * days / schedule.day_basis
    taken_off = max(Fraction(0), exact - schedule.total_interest)
    assert taken_off <= Fraction(1, 2)
    return taken_off / schedule.principal * 365 / days


@settings(max_examples=300, deadline=None)
@given(schedules(principals=REAL_PRINCIPALS, max_periods=120))
def test_without_a_fee_the_simple_apr_is_never_below_the_contract_rate(
    schedule: Schedule,
) -> None:
    apr = schedule_apr(schedule)
    # Where rounding took off, the simple APR can be exactly rate − allowance, which
    # sixty digits then round either way: hence the 1e-50.
    floor = Fraction(schedule.annual_rate) - rounding_allowance(schedule) - Fraction(1, 10**50)
    assert Fraction(apr.simple) >= floor


@settings(max_examples=300, deadline=None)
@given(schedules(methods=st.just(Method.BULLET)))
def test_a_bullet_whose_interest_was_not_rounded_down_is_never_below_its_contract_rate(
    schedule: Schedule,
) -> None:
    # Any principal from one fen: with nothing taken off by rounding, nothing is allowed.
    if rounding_allowance(schedule) == 0:
        assert schedule_apr(schedule).simple >= schedule.annual_rate


@given(schedules(methods=st.just(Method.EQUAL_INSTALLMENT), principals=REAL_PRINCIPALS))
def test_without_a_fee_monthly_instalments_annualise_to_the_nominal_rate(
    schedule: Schedule,
) -> None:
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


@given(schedules(methods=st.just(Method.BULLET), principals=REAL_PRINCIPALS), st.data())
def test_a_fee_on_a_single_repayment_adds_more_than_its_own_share(
    schedule: Schedule, data: st.DataObject
) -> None:
    # cost/(P − fee) > cost/P: the fee adds at least fee / P × 365 / days, annualised
    # like the interest, and more, since the borrower received P − fee.
    fee = data.draw(st.integers(min_value=1, max_value=schedule.principal // 2))
    days = (schedule.installments[0].due_date - schedule.start).days
    lift = schedule_apr(replace(schedule, fee=fee)).simple - schedule_apr(schedule).simple
    assert Fraction(lift) > Fraction(fee, schedule.principal) * 365 / days


@given(schedules(), st.data())
def test_compound_is_the_higher_figure_unless_one_repayment_is_more_than_a_year_away(
    schedule: Schedule, data: st.DataObject
) -> None:
    # (1 + r)^m ≥ 1 + m·r for m ≥ 1 and ≤ for m ≤ 1 (Bernoulli): m is 12 a year for
    # instalments, 365 / days for a single repayment.
    fee = data.draw(st.integers(min_value=0, max_value=(schedule.principal - 1) // 2))
    apr = schedule_apr(replace(schedule, fee=fee))
    days = (schedule.installments[-1].due_date - schedule.start).days
    bullet = schedule.method is Method.BULLET
    if bullet and days == 365:
        # m = 1: the two are one figure, reached by two roundings at sixty digits, so
        # either may come out higher in the last place.
        assert abs(apr.simple - apr.compound) < Decimal("1e-50")
        return
    over_a_year = bullet and days > 365
    assert apr.higher == (apr.simple if over_a_year else apr.compound)


@pytest.mark.parametrize(
    ("received", "repaid"), [(3, 4), (100_000, 133_333), (300_000, 400_000), (7, 7)]
)
def test_a_single_repayment_a_year_away_has_one_figure(received: int, repaid: int) -> None:
    # Hypothesis once drew simple and compound a third, 10^-60 apart: at m = 1 they are
    # the same rate, and the cap must read the same figure either way.
    apr = single_repayment_apr(received, repaid, 365)
    exact = Fraction(repaid - received, received)
    assert abs(Fraction(apr.simple) - exact) < Fraction(1, 10**50)
    assert abs(Fraction(apr.compound) - exact) < Fraction(1, 10**50)
    assert apr_string(apr.higher) == apr_string(Decimal(exact.numerator) / exact.denominator)


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
