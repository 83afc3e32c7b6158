"""Each agent's monthly features, from a wallet history built through the service
functions on books that move through their business dates."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest

from tests.databases import BACKENDS, fresh_database
from tests.features.history import (
    BOOKS_OPEN,
    Credit,
    Event,
    Prepayment,
    advance_to,
    feature_rows,
    features_by_agent,
    onboard,
    play,
    reference,
)
from yirong.books.service import open_books
from yirong.features import service as features_service
from yirong.features.service import Features, compute_features, compute_in, latest_as_of
from yirong.infra.db import Database, Dialect
from yirong.wallets import service as wallets

OpenBooks = Callable[[date], Database]


@pytest.fixture(params=BACKENDS)
def books(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OpenBooks]:
    """A fresh database whose books open on the day the test chooses."""
    opened: list[Database] = []

    def open_on(day: date) -> Database:
        database = fresh_database(request.param, tmp_path)
        open_books(database, day)
        opened.append(database)
        return database

    yield open_on
    for database in opened:
        database.dispose()


def monthly(agent: str, amount: int, months: list[tuple[int, int]], day: int = 5) -> list[Event]:
    return [Credit(date(y, m, day), agent, amount) for y, m in months]


# Feb 2026's window is Feb 2025 .. Jan 2026: month 1 is Jan 2026, month 6 is Aug 2025.
AUG_TO_OCT = [(2025, 8), (2025, 9), (2025, 10)]
NOV_TO_JAN = [(2025, 11), (2025, 12), (2026, 1)]
SINCE = {"HAND": date(2023, 6, 15), "FALLING": date(2024, 12, 31), "NEW": None}
HISTORY: list[Event] = [
    # HAND: 500 yuan a month for three months, then 1,000 yuan a month.
    *monthly("HAND", 50_000, AUG_TO_OCT),
    *monthly("HAND", 100_000, NOV_TO_JAN),
    Credit(date(2025, 1, 31), "HAND", 7_000),  # 13 months back: outside the window
    Credit(date(2026, 2, 1), "HAND", 9_000),  # this month: not yet a full month
    Prepayment(date(2025, 12, 20), "HAND", 20_000),
    Prepayment(date(2026, 2, 2), "HAND", 5_000),  # this month
    # FALLING: credited on the last day of each month, then almost nothing.
    Credit(date(2025, 8, 31), "FALLING", 100_000),
    Credit(date(2025, 9, 30), "FALLING", 100_000),
    Credit(date(2025, 10, 31), "FALLING", 100_000),
    Credit(date(2025, 11, 30), "FALLING", 100_001),
    Prepayment(date(2025, 11, 30), "FALLING", 100_001),
    # NEW: commissions only in the last three months (nothing to compare them with),
    # each the carrier's commission for the month before: a commission counts in the
    # month it is credited, whatever month it is for.
    Credit(date(2025, 11, 1), "NEW", 30_000, month="2025-10"),
    Credit(date(2025, 12, 1), "NEW", 60_000, month="2025-11"),
    Credit(date(2026, 1, 2), "NEW", 45_000, month="2025-12"),
    Credit(date(2026, 1, 3), "NEW", 15_000, month="2026-01"),
]


@pytest.mark.parametrize("few_agents", [2_000, 0], ids=["by-account", "full-pass"])
def test_each_feature_follows_its_definition(
    books: OpenBooks, few_agents: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A handful of agents reads their wallets' postings through the account index; with
    # the threshold at zero, the same features come from one pass over the year's entries.
    monkeypatch.setattr(features_service, "FEW_AGENTS", few_agents)
    paths: list[bool] = []  # which path each computation took (few: by account)
    features_sql = features_service.features_sql

    def recorded(dialect: Dialect, *, few: bool) -> str:
        paths.append(few)
        return features_sql(dialect, few=few)

    monkeypatch.setattr(features_service, "features_sql", recorded)
    db = books(BOOKS_OPEN)
    onboard(db, {**SINCE, "QUIET": date(2020, 2, 29)})
    play(db, [e for e in HISTORY if e.day <= date(2025, 12, 20)])
    # Money that is neither a commission nor a pre-payment: not in the features.
    wallets.credit_from_bank(db, "HAND", 123_456, "top-up")
    wallets.transfer(db, "HAND", "QUIET", 3_000, "transfer")
    play(db, [e for e in HISTORY if e.day > date(2025, 12, 20)])
    advance_to(db, date(2026, 2, 3))

    assert compute_features(db) == date(2026, 2, 1)
    got = features_by_agent(db, date(2026, 2, 1))
    # Worked out by hand from the history above.
    assert got["HAND"] == Features(
        income_3m=300_000,
        income_6m=450_000,
        income_12m=450_000,
        prepay_12m=20_000,
        months_without_income=6,
        trend_ppm=1_000_000,  # doubled
        volatility_ppm=1_000_000,  # Σ|12·m − 450,000| = 5,400,000 = 12 × 450,000
        tenure_months=32,  # June 2023 to February 2026
        overdue_days=0,
    )
    assert got["FALLING"].trend_ppm == -666_663  # -199,999 / 300,000, toward zero
    assert (got["FALLING"].income_3m, got["FALLING"].months_without_income) == (100_001, 8)
    assert got["FALLING"].prepay_12m == 100_001
    assert got["FALLING"].tenure_months == 14
    assert (got["NEW"].income_3m, got["NEW"].income_12m) == (150_000, 150_000)
    assert (got["NEW"].trend_ppm, got["NEW"].tenure_months) == (None, 13)
    assert got["QUIET"] == Features(0, 0, 0, 0, 12, None, None, 72, 0)
    for agent, since in {**SINCE, "QUIET": date(2020, 2, 29)}.items():
        expected = reference(HISTORY, agent, since or BOOKS_OPEN, date(2026, 2, 3))
        assert got[agent] == expected, agent

    # January's window (Jan .. Dec 2025) has HAND's 13-months-old commission in it.
    assert db.run(lambda tx: compute_in(tx, date(2026, 1, 20))) == date(2026, 1, 1)
    january = features_by_agent(db, date(2026, 1, 1))
    assert january["HAND"].income_12m == 7_000 + 3 * 50_000 + 2 * 100_000
    for agent, since in {**SINCE, "QUIET": date(2020, 2, 29)}.items():
        expected = reference(HISTORY, agent, since or BOOKS_OPEN, date(2026, 1, 20))
        assert january[agent] == expected, agent
    assert paths == [few_agents > 0] * 2  # the path under test, on both databases


def test_an_agent_without_any_history_gets_zeros(db: Database) -> None:
    onboard(db, {"OLD": date(2024, 3, 10), "TODAY": None})
    assert compute_features(db) == date(2026, 1, 1)
    got = features_by_agent(db, date(2026, 1, 1))
    nothing = {
        "income_3m": 0,
        "income_6m": 0,
        "income_12m": 0,
        "prepay_12m": 0,
        "months_without_income": 12,
        "trend_ppm": None,
        "volatility_ppm": None,
        "overdue_days": 0,
    }
    assert got["OLD"].as_dict() == {**nothing, "tenure_months": 22}
    assert got["TODAY"].as_dict() == {**nothing, "tenure_months": 0}  # began this month


def test_computing_the_month_again_adds_no_duplicates_and_covers_new_agents(
    books: OpenBooks,
) -> None:
    db = books(date(2025, 12, 30))
    onboard(db, {"A1": date(2025, 6, 1)})
    history: list[Event] = [
        Credit(date(2025, 12, 31), "A1", 80_000),
        Credit(date(2026, 1, 15), "A1", 5_000),  # January's: not in January's features
    ]
    play(db, history[:1])
    advance_to(db, date(2026, 1, 2))
    assert compute_features(db) == date(2026, 1, 1)
    first = features_by_agent(db, date(2026, 1, 1))

    play(db, history[1:])
    onboard(db, {"A2": None}, first=2)  # onboarded mid-month, on 2026-01-15
    assert compute_features(db) == date(2026, 1, 1)
    assert sorted(feature_rows(db)) == [("A1", date(2026, 1, 1)), ("A2", date(2026, 1, 1))]
    got = features_by_agent(db, date(2026, 1, 1))
    assert got["A1"] == first["A1"]
    assert got["A1"] == reference(history, "A1", date(2025, 6, 1), date(2026, 1, 15))
    assert (got["A1"].income_3m, got["A1"].months_without_income) == (80_000, 11)
    assert got["A2"] == Features(0, 0, 0, 0, 12, None, None, 0, 0)

    advance_to(db, date(2026, 2, 1))
    assert compute_features(db) == date(2026, 2, 1)
    assert len(feature_rows(db)) == 4  # January's rows are kept
    assert db.run(latest_as_of) == date(2026, 2, 1)
    february = features_by_agent(db, date(2026, 2, 1))
    assert february["A1"] == reference(history, "A1", date(2025, 6, 1), date(2026, 2, 1))
    assert february["A1"].income_3m == 85_000


def test_a_steep_rise_in_income_is_stored_on_both_databases(books: OpenBooks) -> None:
    """A newcomer's 50 yuan first month, then 40,000 yuan a month: a 2,400-fold rise
    (2.4 billion ppm) must not stop the month's features for every agent."""
    db = books(date(2025, 8, 1))
    onboard(db, {"STEEP": date(2025, 7, 1), "CALM": date(2020, 1, 1)})
    history: list[Event] = [
        Credit(date(2025, 8, 1), "STEEP", 5_000),
        *monthly("STEEP", 4_000_000, [(2025, 10), (2025, 11), (2025, 12)], day=1),
        *monthly("CALM", 200_000, [(2025, 8), (2025, 9), (2025, 10), (2025, 11)], day=1),
    ]
    play(db, history)
    advance_to(db, date(2026, 1, 1))
    compute_features(db)
    got = features_by_agent(db, date(2026, 1, 1))
    assert got["STEEP"].trend_ppm == (12_000_000 - 5_000) * 1_000_000 // 5_000
    for agent, since in (("STEEP", date(2025, 7, 1)), ("CALM", date(2020, 1, 1))):
        assert got[agent] == reference(history, agent, since, date(2026, 1, 1)), agent
