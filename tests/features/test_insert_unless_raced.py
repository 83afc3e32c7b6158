"""``insert_unless_raced``: a plain insert of rows checked to be new, which, when a transaction
writing the same keys at the same moment got there first, writes the rest and keeps
the other's rows (as ``ON CONFLICT ... DO NOTHING`` would have from the start)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import text

from yirong.features.service import insert_unless_raced
from yirong.infra.db import Database, Tx

AS_OF = date(2026, 1, 1)
COLUMNS = (
    "agent_id, as_of, income_3m, income_6m, income_12m, prepay_12m, months_without_income, "
    "tenure_months, overdue_days"
)
# Two agents' rows, as a computation would select them (agent 1 with 500 fen).
INSERT = (
    f"INSERT INTO agent_features ({COLUMNS}) "
    "SELECT n.agent_id, :as_of, n.income, n.income, n.income, 0, 0, 12, 0 "
    "FROM (SELECT 1 AS agent_id, 500 AS income UNION ALL SELECT 2, 700) n WHERE true"
)
ON_CONFLICT = "ON CONFLICT (agent_id, as_of) DO NOTHING"


def incomes(db: Database) -> dict[int, int]:
    rows = db.run(
        lambda tx: tx.conn.execute(
            text("SELECT agent_id, income_3m FROM agent_features ORDER BY agent_id")
        ).all(),
        readonly=True,
    )
    return {agent: income for agent, income in rows}


def test_new_rows_are_written_by_the_plain_insert(db: Database) -> None:
    assert db.run(lambda tx: insert_unless_raced(tx, INSERT, ON_CONFLICT, {"as_of": AS_OF})) == 2
    assert incomes(db) == {1: 500, 2: 700}


def test_a_row_written_meanwhile_is_kept_and_the_rest_written(db: Database) -> None:
    # Agent 1's row, as another computation would have committed it just before.
    db.run(
        lambda tx: tx.conn.execute(
            text(
                f"INSERT INTO agent_features ({COLUMNS}) "
                "VALUES (1, :as_of, 999, 999, 999, 0, 0, 12, 0)"
            ),
            {"as_of": AS_OF},
        )
    )

    def work(tx: Tx) -> int:
        written = insert_unless_raced(tx, INSERT, ON_CONFLICT, {"as_of": AS_OF})
        # The transaction goes on after the failed attempt was rolled back.
        tx.conn.execute(text("UPDATE agent_features SET overdue_days = 3 WHERE agent_id = 2"))
        return written

    assert db.run(work) == 1
    assert incomes(db) == {1: 999, 2: 700}
    assert (
        db.run(
            lambda tx: tx.conn.scalar(
                text("SELECT overdue_days FROM agent_features WHERE agent_id = 2")
            )
        )
        == 3
    )
