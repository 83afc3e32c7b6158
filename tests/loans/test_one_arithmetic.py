"""One arithmetic: the end of day's SQL (``loans.book``) charges, on either database,
the very fen the Python clock (``loans.interest``) charges, for any book of loans:
any principal, rate, day basis, repayments on any days, overdue or not, read on any
later day. Exact halves (where truncation and half-up part ways) are among them.
A term loan's charges are the model's, written on its row (``interest_charged``,
``penalty_charged``): the SQL reads them as they are, whatever its clock columns say."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from yirong.infra.db import Database, Tx
from yirong.loans.book import charged_interest_sql, charged_penalty_sql
from yirong.loans.interest import Clock, charged, penalty_rate_ppm
from yirong.money import divide_half_up

START = date(2026, 1, 5)
COLUMNS = (
    "principal",
    "since_day",
    "normal_fen_days",
    "penalty_fen_days",
    "overdue_day",
    "annual_rate_ppm",
    "penalty_rate_ppm",
    "day_basis",
    "interest_charged",
    "penalty_charged",
)
TERM = 7  # every TERM-th row is a term loan: its clock columns mean nothing to the SQL


@st.composite
def loans(draw: st.DrawFn) -> tuple[Clock, int, int, int]:
    """A clock after repayments on random days: (clock, rate, penalty rate, basis)."""
    principal = draw(st.integers(1, 10**9))  # up to 10 million yuan
    rate = draw(st.integers(0, 360_000))
    basis = draw(st.sampled_from([360, 365]))
    overdue = START + timedelta(days=draw(st.integers(1, 400)))
    clock = Clock.start(principal, START, overdue)
    for gap, share in draw(st.lists(st.tuples(st.integers(0, 90), st.fractions(0, 1)), max_size=6)):
        left = int(clock.principal * share)
        clock = clock.moved_to(date.fromordinal(clock.since) + timedelta(days=gap), left)
    return clock, rate, penalty_rate_ppm(rate, 1_500_000), basis


@contextmanager
def _table(db: Database, rows: list[tuple[Clock, int, int, int]]) -> Iterator[None]:
    """A table of clocks for the SQL to read, dropped after (the PostgreSQL schema is
    the test worker's, which the migrations' own test compares with the models)."""

    def work(tx: Tx) -> None:
        tx.conn.execute(text("DROP TABLE IF EXISTS clocks"))
        columns = ", ".join(c + " BIGINT" for c in COLUMNS)
        tx.conn.execute(text(f"CREATE TABLE clocks (n INTEGER, method VARCHAR(24), {columns})"))
        tx.conn.execute(
            text(f"INSERT INTO clocks VALUES (:n, :method, {', '.join(':' + c for c in COLUMNS)})"),
            [
                {
                    "n": n,
                    "method": "equal-installment" if n % TERM == TERM - 1 else "bullet",
                    "interest_charged": 1_000 + n,
                    "penalty_charged": 2_000 + n,
                    "principal": c.principal,
                    "since_day": c.since,
                    "normal_fen_days": c.normal_fen_days,
                    "penalty_fen_days": c.penalty_fen_days,
                    "overdue_day": c.overdue_from,
                    "annual_rate_ppm": rate,
                    "penalty_rate_ppm": penalty,
                    "day_basis": basis,
                }
                for n, (c, rate, penalty, basis) in enumerate(rows)
            ],
        )

    db.run(work)
    try:
        yield
    finally:
        db.run(lambda tx: tx.conn.execute(text("DROP TABLE clocks")))


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(book=st.lists(loans(), min_size=1, max_size=25), later=st.integers(0, 800))
def test_the_end_of_days_sql_charges_what_the_clock_charges(
    db: Database, book: list[tuple[Clock, int, int, int]], later: int
) -> None:
    next_day = START + timedelta(days=later)
    with _table(db, book):
        found = db.run(
            lambda tx: tx.conn.execute(
                text(
                    f"SELECT n, {charged_interest_sql('c')}, {charged_penalty_sql('c')} "
                    "FROM clocks c ORDER BY n"
                ),
                {"next_ord": next_day.toordinal()},
            ).all(),
            readonly=True,
        )
    for (n, interest, penalty), (clock, rate, penalty_rate, basis) in zip(found, book, strict=True):
        if n % TERM == TERM - 1:
            assert (int(interest), int(penalty)) == (1_000 + n, 2_000 + n), n
            continue
        normal, late = clock.fen_days(next_day)
        assert (int(interest), int(penalty)) == (
            charged(normal, rate, basis),
            charged(late, penalty_rate, basis),
        ), n


@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(days=st.integers(1, 400))
@example(days=1)
def test_an_exact_half_fen_rounds_up_in_sql_as_in_python(db: Database, days: int) -> None:
    # 1 fen outstanding at 18% on a 360 basis for 1 day is 0.0005 fen: far below half.
    # 1,000 fen for 1 day at 18% is 0.5 fen exactly: half-up says 1, truncation 0.
    clock = Clock(1_000, START.toordinal(), 0, 0, (START + timedelta(days=1000)).toordinal())
    day = START + timedelta(days=days)
    with _table(db, [(clock, 180_000, 270_000, 360)]):
        [interest] = db.run(
            lambda tx: tx.conn.execute(
                text(f"SELECT {charged_interest_sql('c')} FROM clocks c"),
                {"next_ord": day.toordinal()},
            ).scalars(),
            readonly=True,
        )
    assert int(interest) == divide_half_up(1_000 * days * 180_000, 360 * 10**6)
    if days == 1:
        assert int(interest) == 1  # written by hand: 0.5 fen rounds up
