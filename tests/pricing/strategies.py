"""Hypothesis strategies for loans: any method, rate, length and start, from one fen up."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from hypothesis import strategies as st

from yirong.pricing.schedule import Method, Schedule, build_schedule

# Up to 36%, the usual legal ceiling, with six decimals so that i = rate/12 rarely ends.
rates = st.decimals(min_value=0, max_value=Decimal("0.36"), places=6)
starts = st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31))
principals = st.integers(min_value=1, max_value=10**11)
methods = st.sampled_from(Method)


@st.composite
def schedules(
    draw: st.DrawFn,
    methods: st.SearchStrategy[Method] = methods,
    principals: st.SearchStrategy[int] = principals,
    max_periods: int = 360,
) -> Schedule:
    method = draw(methods)
    principal = draw(principals)
    days = None
    if method is Method.BULLET:
        days = draw(st.none() | st.integers(min_value=1, max_value=3660))
    periods = 1 if days is not None else draw(st.integers(min_value=1, max_value=max_periods))
    return build_schedule(
        principal,
        draw(rates),
        method,
        draw(starts),
        periods=periods,
        day_basis=draw(st.sampled_from((360, 365))),
        days=days,
    )
