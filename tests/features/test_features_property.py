"""Random monthly incomes: SQLite and PostgreSQL compute the same features as the
definition, for two consecutive months of the same history."""

from __future__ import annotations

import calendar
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.databases import BACKENDS, fresh_database
from tests.features.history import (
    BOOKS_OPEN,
    Credit,
    Event,
    Prepayment,
    advance_to,
    features_by_agent,
    onboard,
    play,
    reference,
)
from yirong.books.service import open_books
from yirong.features.service import Features, compute_features
from yirong.infra.db import Database

# Months 2025-01 .. 2026-01 get commissions on their first and last days; February
# 2026 on its first day only. Features are computed on the first day of each month,
# after that day's commissions (which belong to a month not yet complete): the last
# two computations have a full twelve months of history behind them.
MONTHS = [(2025 + (k // 12), k % 12 + 1) for k in range(13)]
AS_OF = [date(2025 + (k // 12), k % 12 + 1, 1) for k in range(1, 14)]
FEBRUARY = AS_OF[-1]

# One fen to 20,000 yuan: a month of a few fen before good ones gives trends of
# billions of ppm (still far below the 10^15 the features clamp trends to).
amounts = st.none() | st.integers(min_value=1, max_value=2_000_000)
shares = st.sampled_from([0, 0, 0, 25, 100])  # of the last-day commission, pre-paid


@st.composite
def histories(draw: st.DrawFn, agent: str) -> tuple[date, list[Event]]:
    since = draw(st.dates(min_value=date(2015, 1, 1), max_value=BOOKS_OPEN))
    events: list[Event] = []
    for year, month in MONTHS:
        first = max(date(year, month, 1), BOOKS_OPEN)
        last = date(year, month, calendar.monthrange(year, month)[1])
        early, late, share = draw(amounts), draw(amounts), draw(shares)
        if early:
            events.append(Credit(first, agent, early))
        if late:
            events.append(Credit(last, agent, late))
            if late * share // 100:
                events.append(Prepayment(last, agent, late * share // 100))
    if feb := draw(amounts):
        events.append(Credit(FEBRUARY, agent, feb))
    return since, events


@st.composite
def agents(draw: st.DrawFn) -> dict[str, tuple[date, list[Event]]]:
    count = draw(st.integers(min_value=1, max_value=5))
    return {f"A{i}": draw(histories(f"A{i}")) for i in range(count)}


def computed(
    db: Database, histories: dict[str, tuple[date, list[Event]]]
) -> dict[date, dict[str, Features]]:
    """The features of these histories for each month from February 2025 (windows
    partly before the books opened) to February 2026, on one database."""
    try:
        open_books(db, BOOKS_OPEN)
        onboard(db, {agent: since for agent, (since, _) in histories.items()})
        events = [e for _, history in histories.values() for e in history]
        done = BOOKS_OPEN - timedelta(days=1)
        for month in AS_OF:
            play(db, [e for e in events if done < e.day <= month])
            advance_to(db, month)
            assert compute_features(db) == month
            done = month
        return {month: features_by_agent(db, month) for month in AS_OF}
    finally:
        db.dispose()


@pytest.mark.slow
@settings(
    max_examples=4,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(histories=agents())
def test_both_databases_compute_the_defined_features(
    histories: dict[str, tuple[date, list[Event]]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    directory = tmp_path_factory.mktemp("features")
    sqlite, postgresql = (computed(fresh_database(b, directory), histories) for b in BACKENDS)
    assert sqlite == postgresql
    for month in AS_OF:
        for agent, (since, events) in histories.items():
            expected = reference(events, agent, since, month)
            assert sqlite[month][agent] == expected, (month, agent)
