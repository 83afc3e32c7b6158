"""``Database.run``'s two ways of saving round trips: a read that runs alone (one
statement, no BEGIN or COMMIT; run again in a transaction should it need a second),
and a request's first write (a step committed with whatever the request writes first,
never on its own); and ``infra.leader``: one holder at a time."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from yirong.errors import YirongError
from yirong.infra.db import Database, FirstWrite, Tx
from yirong.infra.leader import Leadership, run_once_everywhere


@pytest.fixture
def marks(db: Database) -> Iterator[Database]:
    """``db`` with a table of marks, dropped afterwards (the schema is the tests')."""
    db.run(lambda tx: tx.conn.execute(text("CREATE TABLE probe_marks (mark VARCHAR(20))")))
    yield db
    db.run(lambda tx: tx.conn.execute(text("DROP TABLE probe_marks")))


def _marks(db: Database) -> list[str]:
    return db.run(
        lambda tx: list(tx.conn.scalars(text("SELECT mark FROM probe_marks ORDER BY mark"))),
        readonly=True,
    )


def _mark(tx: Tx, mark: str) -> None:
    tx.conn.execute(text("INSERT INTO probe_marks VALUES (:m)"), {"m": mark})


def test_a_read_alone_sends_no_begin_and_a_second_statement_runs_it_again(db: Database) -> None:
    seen: list[tuple[bool, str]] = []

    def one(tx: Tx) -> int:
        seen.append((tx.alone, "one"))
        return int(tx.conn.execute(text("SELECT 1")).scalar_one())

    def two(tx: Tx) -> int:
        seen.append((tx.alone, "two"))
        first = int(tx.conn.execute(text("SELECT 1")).scalar_one())
        return first + int(tx.conn.execute(text("SELECT 2")).scalar_one())

    assert db.run(one, readonly=True, alone=True) == 1
    assert db.run(two, readonly=True, alone=True) == 3
    # The second statement stopped the alone attempt; the read ran again in a snapshot.
    assert seen == [(True, "one"), (True, "two"), (False, "two")]


def test_every_way_of_sending_is_counted_alone(db: Database) -> None:
    """Scalars, a scalar, a driver's SQL and the ORM's session: a second statement by
    any of them (or the session at all) runs the read again in a transaction."""
    seen: list[tuple[bool, str]] = []

    def scalars_then_scalar(tx: Tx) -> int:
        seen.append((tx.alone, "scalars"))
        first = sum(tx.conn.scalars(text("SELECT 1")))
        return first + int(tx.conn.scalar(text("SELECT 2")) or 0)

    def driver_sql_twice(tx: Tx) -> int:
        seen.append((tx.alone, "driver"))
        first = int(tx.conn.exec_driver_sql("SELECT 3").scalar_one())
        return first + int(tx.conn.exec_driver_sql("SELECT 4").scalar_one())

    def with_the_session(tx: Tx) -> int:
        seen.append((tx.alone, "session"))
        return int(tx.session.execute(text("SELECT 5")).scalar_one())

    assert db.run(scalars_then_scalar, readonly=True, alone=True) == 3
    assert db.run(driver_sql_twice, readonly=True, alone=True) == 7
    assert db.run(with_the_session, readonly=True, alone=True) == 5
    assert seen == [
        (True, "scalars"),
        (False, "scalars"),
        (True, "driver"),
        (False, "driver"),
        (True, "session"),
        (False, "session"),
    ]


def test_the_first_write_commits_with_the_first_transaction_that_writes(marks: Database) -> None:
    db = marks
    first = FirstWrite(db, lambda tx: _mark(tx, "key"))
    leave = first.entered()
    try:
        assert _marks(db) == []  # a read does not take it
        assert not first.done
        db.run(lambda tx: _mark(tx, "use case"))
        assert first.done
        db.run(lambda tx: _mark(tx, "later"))  # and it is taken once
    finally:
        leave()
    assert _marks(db) == ["key", "later", "use case"]


def test_a_write_that_fails_takes_its_first_write_with_it(marks: Database) -> None:
    db = marks
    first = FirstWrite(db, lambda tx: _mark(tx, "key"))

    def refused(tx: Tx) -> None:
        _mark(tx, "half")
        raise YirongError("nothing_owed")

    leave = first.entered()
    try:
        with pytest.raises(YirongError):
            db.run(refused)
        assert not first.done
        db.run(lambda tx: _mark(tx, "again"))  # the next write takes it
        assert first.done
    finally:
        leave()
    assert _marks(db) == ["again", "key"]  # "half" went with its transaction


def test_one_leader_at_a_time_and_another_takes_over(db: Database) -> None:
    one, two = Leadership(db, "probe-job"), Leadership(db, "probe-job")
    other = Leadership(db, "another-job")
    try:
        assert one.try_take()
        assert not two.try_take()
        assert other.try_take()  # another job's lead is its own
        one.give_up()
        assert two.try_take()
    finally:
        for held in (one, two, other):
            held.give_up()


def test_the_work_runs_in_one_thread_of_many_until_it_stops(db: Database) -> None:
    running: list[str] = []
    stops = {name: threading.Event() for name in ("a", "b", "c")}

    def work(_db: Database, stop: threading.Event) -> None:
        running.append(threading.current_thread().name)
        stop.wait()

    threads = [
        threading.Thread(
            target=run_once_everywhere,
            args=(db, "probe-loop", work, stop),
            kwargs={"retry": 0.05},
            name=name,
        )
        for name, stop in stops.items()
    ]
    for thread in threads:
        thread.start()
    time.sleep(0.5)
    assert len(running) == 1
    stops[running[0]].set()  # the leader stops: one of the others takes over
    deadline = time.monotonic() + 5
    while len(running) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.3)
    assert len(running) == 2 and running[1] != running[0]
    for stop in stops.values():
        stop.set()
    for thread in threads:
        thread.join(timeout=5)
