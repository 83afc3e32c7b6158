"""The interest clock against day-by-day arithmetic in exact fractions, and the
allocation of repayments."""

from __future__ import annotations

import math
from datetime import date, timedelta
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yirong.loans.allocation import Owed, Share, allocate, parse_order
from yirong.loans.interest import Clock, charged, penalty_rate_ppm

START = date(2026, 1, 5)


def half_up(x: Fraction) -> int:
    return math.floor(x + Fraction(1, 2))


def test_one_day_of_interest_counts_the_first_day_and_not_the_last() -> None:
    clock = Clock.start(1_000_000, START, START + timedelta(days=100))
    assert clock.fen_days(START) == (0, 0)  # credited today: nothing yet
    assert clock.fen_days(START + timedelta(days=1)) == (1_000_000, 0)
    # 10,000 yuan at 18% for 30 days on a 360-day basis: 150 yuan exactly.
    assert charged(clock.fen_days(START + timedelta(days=30))[0], 180_000, 360) == 15_000


def test_rounding_is_half_up_to_the_fen() -> None:
    # 1 fen-day... 5,000 fen for one day at 3.6%/360: 0.5 fen -> 1; 4,999 fen: 0.4999 -> 0.
    assert charged(5_000, 36_000, 360) == 1
    assert charged(4_999, 36_000, 360) == 0
    assert charged(0, 240_000, 365) == 0
    with pytest.raises(ValueError):
        charged(-1, 100, 360)


def test_penalty_days_begin_on_the_overdue_day() -> None:
    overdue = START + timedelta(days=33)  # due on day 30, 3 days' grace
    clock = Clock.start(200_000, START, overdue)
    assert clock.fen_days(overdue + timedelta(days=2)) == (200_000 * 33, 200_000 * 2)
    moved = clock.moved_to(overdue + timedelta(days=2), 50_000)
    assert moved.fen_days(overdue + timedelta(days=4)) == (200_000 * 33, 200_000 * 2 + 50_000 * 2)
    with pytest.raises(ValueError):
        moved.moved_to(overdue, 0)  # the clock never runs backwards


def test_the_penalty_rate_is_the_rate_times_the_multiplier() -> None:
    assert penalty_rate_ppm(108_000, 1_500_000) == 162_000
    assert penalty_rate_ppm(123_457, 1_500_000) == 185_186  # 185,185.5 rounds up


@st.composite
def loans(draw: st.DrawFn) -> tuple[int, int, int, int, list[tuple[int, int]]]:
    principal = draw(st.integers(10_000, 50_000_000))
    rate = draw(st.integers(1, 240_000))
    basis = draw(st.sampled_from([360, 365]))
    overdue_after = draw(st.integers(1, 200))
    events = draw(st.lists(st.tuples(st.integers(0, 300), st.integers(1, 10**8)), max_size=12))
    return principal, rate, basis, overdue_after, sorted(events)


@settings(max_examples=300, deadline=None)
@given(loan=loans(), end=st.integers(301, 400))
def test_any_mix_of_repayments_charges_exactly_the_interest_of_the_balance_timeline(
    loan: tuple[int, int, int, int, list[tuple[int, int]]], end: int
) -> None:
    principal, rate, basis, overdue_after, events = loan
    penalty_rate = penalty_rate_ppm(rate, 1_500_000)
    overdue = START + timedelta(days=overdue_after)
    clock = Clock.start(principal, START, overdue)
    paid = {"penalty": 0, "interest": 0, "principal": 0}
    balance_at_end_of: dict[int, int] = {}
    left = principal
    for offset, amount in events:
        day = START + timedelta(days=offset)
        normal, late = clock.fen_days(day)
        owed = Owed(
            1,
            charged(late, penalty_rate, basis) - paid["penalty"],
            charged(normal, rate, basis) - paid["interest"],
            left,
        )
        assert owed.penalty >= 0 and owed.interest >= 0  # never charged back
        [share] = allocate(min(amount, owed.total), [owed]) or [Share(1)]
        for part in paid:
            paid[part] += getattr(share, part)
        left -= share.principal
        clock = clock.moved_to(day, left)
        balance_at_end_of[offset] = left
    last = START + timedelta(days=end)
    normal, late = clock.fen_days(last)

    # Day by day, in exact fractions: the principal at each day's end.
    exact_normal, exact_late = Fraction(0), Fraction(0)
    running = principal
    for offset in range(end):
        running = balance_at_end_of.get(offset, running)
        daily = Fraction(running, basis)
        if offset < overdue_after:
            exact_normal += daily * Fraction(rate, 10**6)
        else:
            exact_late += daily * Fraction(penalty_rate, 10**6)
    assert charged(normal, rate, basis) == half_up(exact_normal)
    assert charged(late, penalty_rate, basis) == half_up(exact_late)
    # What was collected never exceeds what was charged.
    assert paid["interest"] <= charged(normal, rate, basis)
    assert paid["penalty"] <= charged(late, penalty_rate, basis)
    assert paid["principal"] + left == principal


def test_allocation_follows_the_order_component_by_component_oldest_first() -> None:
    owed = [Owed(1, 100, 500, 10_000), Owed(2, 0, 300, 20_000)]
    assert allocate(1_000, owed) == [Share(1, 100, 500, 100), Share(2, 0, 300, 0)]
    principal_first = parse_order("principal, interest, penalty")
    assert allocate(25_000, owed, principal_first) == [
        Share(1, 0, 0, 10_000),
        Share(2, 0, 0, 15_000),
    ]
    assert allocate(0, owed) == []
    with pytest.raises(ValueError):
        allocate(30_901, owed)
    with pytest.raises(ValueError):
        parse_order("interest,principal")


@given(
    owed=st.lists(
        st.builds(Owed, st.integers(1, 10**6), *(st.integers(0, 10**7),) * 3),
        max_size=6,
        unique_by=lambda o: o.drawdown_id,
    ),
    fraction=st.fractions(0, 1),
)
def test_allocation_splits_exactly_what_was_paid_and_never_more_than_owed(
    owed: list[Owed], fraction: Fraction
) -> None:
    amount = math.floor(sum(o.total for o in owed) * fraction)
    shares = allocate(amount, owed)
    assert sum(s.total for s in shares) == amount
    by_id = {o.drawdown_id: o for o in owed}
    for s in shares:
        o = by_id[s.drawdown_id]
        assert s.penalty <= o.penalty and s.interest <= o.interest and s.principal <= o.principal


@settings(max_examples=300, deadline=None)
@given(
    principal=st.integers(1, 10_000_000),
    repaid=st.integers(0, 10_000_000),
    overdue_after=st.integers(0, 90),
    repaid_after=st.integers(0, 90),
    reversed_after=st.integers(0, 90),
    later=st.integers(0, 60),
)
def test_a_restored_repayment_leaves_the_clock_as_if_it_never_happened(
    principal: int,
    repaid: int,
    overdue_after: int,
    repaid_after: int,
    reversed_after: int,
    later: int,
) -> None:
    repaid = min(repaid, principal)
    clock = Clock.start(principal, START, START + timedelta(days=overdue_after))
    repaid_on = START + timedelta(days=repaid_after)
    reversed_on = repaid_on + timedelta(days=reversed_after)
    restored = clock.moved_to(repaid_on, principal - repaid).restored(
        reversed_on, repaid, repaid_on
    )
    assert restored.principal == principal
    day = reversed_on + timedelta(days=later)
    assert restored.fen_days(day) == clock.fen_days(day)
