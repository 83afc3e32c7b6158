"""A term loan as its contract enforces it, as a specification: amounts and rates that
do not divide evenly (333,333 fen at 18.25%, penalty x1.5, 365-day basis), the late
charges worked out here by hand, day by day, from the rules in the module's text."""

from __future__ import annotations

import math
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yirong.errors import YirongError
from yirong.loans.model.term import Part, Rules, TermLoan, instalments
from yirong.pricing.schedule import Method, build_schedule

PRINCIPAL = 333_333
RATE = 182_500  # 18.25% in millionths
PENALTY = 273_750  # x1.5
BASIS = 365
CREDITED = date(2026, 1, 15)
RULES = Rules(RATE, PENALTY, BASIS)


def half_up(x: Fraction) -> int:
    return math.floor(x + Fraction(1, 2))


def per_day(amount: int, days: int, rate_ppm: int) -> int:
    """amount x days x rate / basis, half-up: the charge for ``days`` whole days."""
    return half_up(Fraction(amount * days * rate_ppm, 1_000_000 * BASIS))


def loan(rules: Rules = RULES, method: Method = Method.EQUAL_INSTALLMENT) -> TermLoan:
    rows = instalments(PRINCIPAL, Decimal("0.1825"), method, CREDITED, 6, BASIS)
    return TermLoan.start(rules, CREDITED, rows)


def test_the_schedule_enforced_is_the_schedule_shown() -> None:
    shown = build_schedule(
        PRINCIPAL, Decimal("0.1825"), Method.EQUAL_INSTALLMENT, CREDITED, periods=6, day_basis=365
    )
    enforced = loan().schedule
    assert [(k.due, k.principal, k.interest) for k in enforced] == [
        (r.due_date, r.principal, r.interest) for r in shown.installments
    ]
    assert [k.due for k in enforced] == [date(2026, m, 15) for m in range(2, 8)]
    assert sum(k.principal for k in enforced) == PRINCIPAL


def test_nothing_is_due_before_the_first_due_date() -> None:
    position = loan().position(date(2026, 2, 14))
    assert (position.due_now, position.overdue, position.days_past_due) == (0, False, 0)
    # Everything at once on day 30 of the first period: principal and 30 days' interest.
    assert position.running_interest == per_day(PRINCIPAL, 30, RATE)
    assert position.payoff == PRINCIPAL + per_day(PRINCIPAL, 30, RATE)


def test_a_missed_second_instalment_falls_overdue_accrues_and_is_cured() -> None:
    first, second = loan().schedule[:2]
    on_time, _ = loan().repay(first.due, first.principal + first.interest)
    # Its due date: owed, not yet overdue.
    due_day = on_time.position(second.due)
    assert due_day.due_now == second.principal + second.interest
    assert (due_day.overdue, due_day.days_past_due) == (False, 0)
    # The next day it is overdue (the grace is 0), one day past due; no day has ended
    # in arrears yet, so nothing late is charged.
    next_day = on_time.position(second.due + timedelta(days=1))
    assert (next_day.overdue, next_day.days_past_due) == (True, 1)
    assert next_day.due_now == second.principal + second.interest
    # Five days after: four whole days of penalty on its principal and of compound
    # interest on its interest, each at the penalty rate.
    day = second.due + timedelta(days=5)
    late = on_time.position(day)
    penalty, compound = per_day(second.principal, 4, PENALTY), per_day(second.interest, 4, PENALTY)
    assert (late.owing[1].penalty, late.owing[1].compound) == (penalty, compound)
    assert penalty > 0 and compound > 0
    assert late.due_now == second.principal + second.interest + penalty + compound
    assert late.days_past_due == 5
    # Paying what is due brings it current; nothing accrues afterwards.
    cured, parts = on_time.repay(day, late.due_now)
    assert parts == (Part(2, penalty, compound, second.interest, second.principal),)
    later = cured.position(day + timedelta(days=5))
    assert (later.due_now, later.overdue, later.days_past_due) == (0, False, 0)


def test_within_the_grace_nothing_late_is_charged() -> None:
    rules = Rules(RATE, PENALTY, BASIS, grace_days=3)
    first = loan(rules).schedule[0]
    owed = first.principal + first.interest
    # Three days of grace: not overdue, and paid on the third, no penalty.
    third = first.due + timedelta(days=3)
    assert loan(rules).position(third).overdue is False
    assert loan(rules).position(third).days_past_due == 3
    assert loan(rules).position(third).due_now == owed
    # The fourth day is the first late day; charged once it has ended.
    assert loan(rules).position(first.due + timedelta(days=4)).overdue is True
    two_days_on = loan(rules).position(first.due + timedelta(days=5))
    assert two_days_on.owing[0].penalty == per_day(first.principal, 1, PENALTY)


def test_repaid_all_at_once_interest_to_the_day() -> None:
    rows = loan().schedule
    paid, _ = loan().repay(rows[0].due, rows[0].principal + rows[0].interest)
    day = date(2026, 3, 10)  # 23 days into the second period (from 15 February)
    left = PRINCIPAL - rows[0].principal
    position = paid.position(day)
    assert position.running_interest == per_day(left, 23, RATE)
    assert position.payoff == left + per_day(left, 23, RATE)
    settled, parts = paid.repay(day, position.payoff)
    assert sum(p.total for p in parts) == position.payoff
    assert sum(p.principal for p in parts) == left
    after = settled.position(day + timedelta(days=200))
    assert (after.payoff, after.due_now, after.overdue) == (0, 0, False)


def test_refusals() -> None:
    first = loan().schedule[0]
    position = loan().position(first.due)
    due, payoff = position.due_now, position.payoff
    for amount, code in (
        (payoff + 1, "exceeds_owed"),
        (due + 1, "term_prepayment_partial"),
        (payoff - 1, "term_prepayment_partial"),
        (0, "amount_zero"),
        (-5, "amount_negative"),
    ):
        with pytest.raises(YirongError) as refused:
            loan().repay(first.due, amount)
        assert refused.value.code == code, amount
    settled, _ = loan().repay(first.due, payoff)
    with pytest.raises(YirongError) as refused:
        settled.repay(first.due, 1)
    assert refused.value.code == "nothing_owed"


def test_the_products_order_decides_the_split() -> None:
    first = loan().schedule[0]
    day = first.due + timedelta(days=11)  # ten late days ended
    penalty = per_day(first.principal, 10, PENALTY)
    compound = per_day(first.interest, 10, PENALTY)
    part = first.principal // 3
    _, late_first = loan().repay(day, part)
    rest = part - penalty - compound - first.interest
    assert rest > 0  # the late charges, the interest, then part of the principal
    assert late_first == (Part(1, penalty, compound, first.interest, rest),)
    principal_first = Rules(RATE, PENALTY, BASIS, order=("principal", "interest", "penalty"))
    _, parts = loan(principal_first).repay(day, part)
    assert parts == (Part(1, 0, 0, 0, part),)
    # Its principal paid, its interest and late charges not: still overdue, still late.
    principal_paid, _ = loan(principal_first).repay(day, first.principal)
    still = principal_paid.position(day)
    assert (still.overdue, still.days_past_due) == (True, 11)
    assert still.due_now == first.interest + penalty + compound
    no_compound = Rules(RATE, PENALTY, BASIS, compounds=False)
    assert loan(no_compound).position(day).owing[0].compound == 0


def test_a_bullet_is_not_a_term_loan() -> None:
    with pytest.raises(ValueError, match="bullet"):
        instalments(PRINCIPAL, Decimal("0.1825"), Method.BULLET, CREDITED, 1, BASIS)


@settings(max_examples=150, deadline=None)
@given(
    method=st.sampled_from(
        [Method.EQUAL_INSTALLMENT, Method.EQUAL_PRINCIPAL, Method.INTEREST_ONLY]
    ),
    steps=st.lists(
        st.tuples(st.integers(1, 45), st.sampled_from(["due", "part", "all", "skip"])),
        max_size=12,
    ),
)
def test_whatever_is_paid_adds_up(method: Method, steps: list[tuple[int, str]]) -> None:
    state, day = loan(method=method), CREDITED
    paid = Part(0)
    scheduled_interest = sum(k.interest for k in state.schedule)
    for gap, how in steps:
        day += timedelta(days=gap)
        position = state.position(day)
        assert 0 <= position.due_now <= position.payoff
        assert all(min(o.principal, o.interest, o.penalty, o.compound) >= 0 for o in position.owing)
        amount = {
            "due": position.due_now,
            "part": position.due_now // 2,
            "all": position.payoff,
            "skip": 0,
        }[how]
        if amount == 0:
            continue
        state, parts = state.repay(day, amount)
        assert sum(p.total for p in parts) == amount
        paid = Part(
            0,
            paid.penalty + sum(p.penalty for p in parts),
            paid.compound + sum(p.compound for p in parts),
            paid.interest + sum(p.interest for p in parts),
            paid.principal + sum(p.principal for p in parts),
        )
        assert paid.principal <= PRINCIPAL
        assert paid.interest <= scheduled_interest
        if how == "all":
            assert paid.principal == PRINCIPAL
            assert state.position(day + timedelta(days=99)).payoff == 0
            return


def test_a_loan_is_its_schedule_and_what_was_paid() -> None:
    first, second = loan().schedule[:2]
    payments = [(first.due, first.principal + first.interest), (second.due, 1_000)]
    step = loan()
    for day, amount in payments:
        step, _ = step.repay(day, amount)
    assert TermLoan.replayed(RULES, CREDITED, loan().schedule, payments) == step
    # Leaving a repayment out is the loan as if it had never been made.
    assert (
        TermLoan.replayed(RULES, CREDITED, loan().schedule, payments[:1])
        == (loan().repay(first.due, first.principal + first.interest)[0])
    )


def test_the_day_it_would_be_late() -> None:
    rules = Rules(RATE, PENALTY, BASIS, grace_days=2, order=("principal", "interest", "penalty"))
    first, second = loan(rules).schedule[:2]
    fresh = loan(rules)
    assert fresh.late_day(CREDITED) == first.due + timedelta(days=3)
    # Its principal paid, not its interest: the first instalment is still the late one.
    part_paid, _ = fresh.repay(first.due, first.principal)
    assert part_paid.late_day(first.due) == first.due + timedelta(days=3)
    paid, _ = part_paid.repay(first.due, first.interest)
    assert paid.late_day(first.due) == second.due + timedelta(days=3)
    settled, _ = paid.repay(first.due, paid.position(first.due).payoff)
    assert settled.late_day(first.due) is None


def test_what_the_lender_has_earned() -> None:
    first, second = loan().schedule[:2]
    assert loan().earned(first.due) == (0, 0)  # the first interest is due at its day's end
    assert loan().earned(first.due + timedelta(days=1)) == (first.interest, 0)
    # Unpaid: by the start of the fourth day after its due date, three late days have
    # ended, each charged penalty on its principal and compound interest on its interest.
    late = loan().earned(first.due + timedelta(days=4))
    three_days = per_day(first.principal, 3, PENALTY) + per_day(first.interest, 3, PENALTY)
    assert late == (first.interest, three_days)
    # Repaid all at once on 2026-03-01: the first two instalments' interest (both due
    # and paid) and 14 days of the third period; never more, however long after.
    paid, _ = loan().repay(first.due, first.principal + first.interest)
    paid, _ = paid.repay(second.due, second.principal + second.interest)
    day = date(2026, 3, 29)
    settled, _ = paid.repay(day, paid.position(day).payoff)
    running = per_day(PRINCIPAL - first.principal - second.principal, 14, RATE)
    expected = (first.interest + second.interest + running, 0)
    assert settled.earned(day) == expected
    assert settled.earned(day + timedelta(days=400)) == expected
