"""`ledger verify` must catch every kind of damage, not just pass on a clean book."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.ledger.helpers import move, open_wallet_account, post, reserve
from yirong.infra.db import Database, Dialect, Tx
from yirong.ledger.verify import verify


def _bypass_triggers(tx: Tx, statement: str) -> None:
    """Damage the books the way only a person at the database could."""
    if tx.dialect is Dialect.POSTGRESQL:
        tx.conn.execute(text("SET LOCAL session_replication_role = replica"))
        tx.conn.execute(text(statement))
    else:
        triggers = tx.conn.execute(
            text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
        ).all()
        for name, _ in triggers:
            tx.conn.execute(text(f"DROP TRIGGER {name}"))
        tx.conn.execute(text(statement))
        for _, sql in triggers:
            tx.conn.execute(text(sql))


DAMAGE: dict[str, tuple[str, str]] = {
    "cached balance drifts": (
        "UPDATE ledger_balances SET credits_posted = credits_posted + 1 "
        "WHERE account_id = (SELECT MAX(account_id) FROM ledger_balances)",
        "balances replay",
    ),
    "a posting is edited": (
        "UPDATE ledger_postings SET amount = amount + 1 WHERE entry_id = 1 AND leg = 0",
        "entries balance",
    ),
    "a posting disappears": (
        "DELETE FROM ledger_postings WHERE entry_id = 1 AND leg = 1",
        "entries balance",
    ),
    "a posting to nowhere": (
        "INSERT INTO ledger_postings (entry_id, leg, account_id, shard, side, amount) "
        "VALUES (1, 7, 999999, 0, 'D', 1)",
        "postings reference balance rows",
    ),
    "an orphan posting": (
        "INSERT INTO ledger_postings (entry_id, leg, account_id, shard, side, amount) "
        "VALUES (999999, 0, 1, 0, 'D', 1)",
        "postings belong to entries",
    ),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_verify_finds_damage(db: Database, damage: str) -> None:
    a, r = open_wallet_account(db, "w:a"), reserve(db)
    post(db, move("fund", r, a, 100))
    assert verify(db).ok
    statement, check = DAMAGE[damage]
    db.run(lambda tx: _bypass_triggers(tx, statement))
    report = verify(db)
    assert not report.ok
    failed = {c.name for c in report.checks if not c.ok}
    assert check in failed


def test_verify_counts_what_it_checked(db: Database) -> None:
    a, r = open_wallet_account(db, "w:a"), reserve(db)
    for n in range(3):
        post(db, move(f"k{n}", r, a, 10))
    report = verify(db)
    assert (report.entries, report.postings) == (3, 6)
    assert report.problems == 0


def test_a_state_split_across_shards_is_found(db: Database) -> None:
    r = reserve(db)

    def change(tx: Tx) -> object:
        return tx.conn.execute(
            text(
                "UPDATE ledger_balances SET state = 'blocked' WHERE account_id = :a AND shard = 0"
            ),
            {"a": r.id},
        )

    db.run(change)
    assert "shards agree on state" in {c.name for c in verify(db).checks if not c.ok}
