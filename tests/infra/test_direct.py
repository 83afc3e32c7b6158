"""``infra.direct``: a Core statement sent straight to psycopg answers what SQLAlchemy
answers for it, row for row; what a type converts, what is expanded at run time and
what has a default computed in Python is left to SQLAlchemy; a database error is
SQLAlchemy's; and on SQLite everything is SQLAlchemy's."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import (
    JSON,
    Column,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError, MultipleResultsFound, NoResultFound

from yirong.infra.db import Database, Dialect, Tx
from yirong.infra.direct import is_direct, send

META = MetaData()
THINGS = Table(
    "probe_direct_things",
    META,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(20), nullable=False, unique=True),
    Column("colour", String(10), nullable=False),
    Column("size", Integer, nullable=False, default=1),  # a default computed in Python
    Column("facts", JSON),
)
NAMES = [("apple", "red", 3), ("lime", "green", 2), ("plum", "red", 5), ("kiwi", "green", 4)]


@pytest.fixture
def things(db: Database) -> Iterator[Database]:
    db.run(lambda tx: META.create_all(tx.conn))
    db.run(
        lambda tx: tx.conn.execute(
            insert(THINGS), [{"name": n, "colour": c, "size": s} for n, c, s in NAMES]
        )
    )
    yield db
    db.run(lambda tx: META.drop_all(tx.conn))


# Statements of every shape the hot path uses: constants, a constant list SQLAlchemy
# expands, a literal it renders (the separator), text with its own names, a subquery.
RED = select(THINGS.c.name, THINGS.c.size).where(
    THINGS.c.colour == "red", THINGS.c.size > bindparam("least")
)
IN_LIST = (
    select(THINGS.c.name).where(THINGS.c.name.in_(["kiwi", "plum", "pear"])).order_by(THINGS.c.name)
)
JOINED = select(func.aggregate_strings(THINGS.c.name, ",")).where(
    THINGS.c.colour == bindparam("colour")
)
TEXT = text("SELECT name AS label, size FROM probe_direct_things WHERE size >= :least ORDER BY id")
COUNTS = select(
    select(func.count()).where(THINGS.c.colour == "green").scalar_subquery(),
    select(func.max(THINGS.c.size)).scalar_subquery(),
)


def _both(db: Database, statement: Any, given: dict[str, Any]) -> tuple[Any, Any]:
    def read(tx: Tx) -> tuple[Any, Any]:
        theirs = [tuple(r) for r in tx.conn.execute(statement, given)]
        ours = [tuple(r) for r in send(tx, statement, given)]
        return theirs, ours

    return db.run(read)


@pytest.mark.parametrize(
    ("statement", "given"),
    [
        (RED, {"least": 2}),
        (IN_LIST, {}),
        (JOINED, {"colour": "green"}),
        (TEXT, {"least": 3}),
        (COUNTS, {}),
    ],
    ids=["constants", "constant-list", "rendered-literal", "text", "subqueries"],
)
def test_a_statement_answers_as_sqlalchemy_answers(
    things: Database, statement: Any, given: dict[str, Any]
) -> None:
    db = things
    theirs, ours = _both(db, statement, given)
    assert ours == theirs and ours  # something was read, and the same
    assert db.run(lambda tx: is_direct(tx, statement, given)) is (db.dialect is Dialect.POSTGRESQL)


def test_rows_are_read_by_name_and_as_a_result_is(things: Database) -> None:
    db = things

    def read(tx: Tx) -> None:
        rows = send(tx, TEXT, {"least": 3}).all()
        assert [(r.label, r.size) for r in rows] == [("apple", 3), ("plum", 5), ("kiwi", 4)]
        assert send(tx, RED, {"least": 4}).one() == ("plum", 5)
        assert send(tx, RED, {"least": 9}).one_or_none() is None
        assert send(tx, RED, {"least": 9}).first() is None
        assert send(tx, COUNTS).scalar_one() == 2
        with pytest.raises(NoResultFound):
            send(tx, RED, {"least": 9}).one()
        with pytest.raises(MultipleResultsFound):
            send(tx, RED, {"least": 0}).one_or_none()

    db.run(read)


def test_writes_answer_and_change_as_sqlalchemy_would(things: Database) -> None:
    db = things
    renamed = (
        update(THINGS)
        .where(THINGS.c.name == bindparam("old"))
        .values(name=bindparam("new"))
        .returning(THINGS.c.size)
    )
    added = insert(THINGS).returning(THINGS.c.id)

    def write(tx: Tx) -> tuple[int, int, bool, bool]:
        size = send(tx, renamed, {"old": "lime", "new": "lemon"}).scalar_one()
        given = {"name": "pear", "colour": "green", "size": 7}
        new_id = send(tx, added, given).scalar_one()
        # Without its size, the row's default is SQLAlchemy's to compute: not direct.
        defaulted = {"name": "x", "colour": "y"}
        return size, new_id, is_direct(tx, added, given), is_direct(tx, added, defaulted)

    size, new_id, sized_direct, default_direct = db.run(write)
    assert (size, new_id) == (2, len(NAMES) + 1)
    assert sized_direct is (db.dialect is Dialect.POSTGRESQL)
    assert default_direct is False
    names = db.run(lambda tx: set(tx.conn.scalars(select(THINGS.c.name))))
    assert names == {"apple", "lemon", "plum", "kiwi", "pear"}
    # The default SQLAlchemy computes is there when the statement goes through it.
    db.run(lambda tx: send(tx, insert(THINGS), {"name": "fig", "colour": "purple"}))
    assert (
        db.run(lambda tx: tx.conn.scalar(select(THINGS.c.size).where(THINGS.c.name == "fig"))) == 1
    )


def test_what_a_type_converts_is_left_to_sqlalchemy(things: Database) -> None:
    db = things
    facts = update(THINGS).where(THINGS.c.name == bindparam("who")).values(facts=bindparam("f"))
    read = select(THINGS.c.facts).where(THINGS.c.name == bindparam("who"))

    def write(tx: Tx) -> bool:
        send(tx, facts, {"who": "kiwi", "f": {"from": "NZ", "seeds": 1500}})
        return is_direct(tx, facts, {"who": "kiwi", "f": {}})

    assert db.run(write) is False  # SQLAlchemy writes the JSON
    assert db.run(lambda tx: send(tx, read, {"who": "kiwi"}).scalar_one()) == {
        "from": "NZ",
        "seeds": 1500,
    }


def test_a_list_given_at_run_time_is_expanded_by_sqlalchemy(things: Database) -> None:
    db = things
    named = select(THINGS.c.size).where(THINGS.c.name.in_(bindparam("names", expanding=True)))

    def read(tx: Tx) -> tuple[bool, list[int]]:
        given = {"names": ["plum", "kiwi"]}
        return is_direct(tx, named, given), sorted(send(tx, named, given).scalars())

    assert db.run(read) == (False, [4, 5])


def test_a_database_error_is_sqlalchemys(things: Database) -> None:
    db = things
    added = insert(THINGS).returning(THINGS.c.id)
    with pytest.raises(IntegrityError):
        db.run(lambda tx: send(tx, added, {"name": "apple", "colour": "red", "size": 1}))
    # Nothing was written, and the connection serves the next transaction.
    assert db.run(lambda tx: send(tx, COUNTS).scalar_one()) == 2


def test_a_direct_statement_counts_in_work_that_runs_alone(things: Database) -> None:
    db = things
    seen: list[bool] = []

    def two(tx: Tx) -> int:
        seen.append(tx.alone)
        first = send(tx, COUNTS).scalar_one()
        return int(first) + int(send(tx, RED, {"least": 4}).one()[1])

    assert db.run(two, readonly=True, alone=True) == 7
    assert seen == [True, False]  # the second statement ran it again in a snapshot
