"""Freezing many wallets at once does what freezing them one by one does."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from yirong.errors import YirongError
from yirong.infra.db import Database
from yirong.ledger.model import AccountState
from yirong.wallets import service as wallets
from yirong.wallets.service import FreezeReason, freeze_all_in

SHOPS = ("agent:A001", "agent:A002", "agent:A003", "agent:A004")


def state_changes(db: Database) -> list[tuple[Any, ...]]:
    return db.run(
        lambda tx: [
            tuple(r)
            for r in tx.conn.execute(
                text(
                    "SELECT a.code, s.from_state, s.to_state, s.reason FROM ledger_state_changes s"
                    " JOIN ledger_accounts a ON a.id = s.account_id ORDER BY s.id"
                )
            )
        ]
    )


def test_many_wallets_frozen_at_once_as_one_by_one(db: Database) -> None:
    wallets.open_wallets(db, [(h, f"Shop {h}") for h in SHOPS])
    # A002 already frozen for the same reason, A003 for another: neither changes state.
    wallets.freeze(db, SHOPS[1], FreezeReason.OVERDUE, note="earlier", actor="eod")
    wallets.freeze(db, SHOPS[2], FreezeReason.RISK, note="check", actor="op1")
    before = state_changes(db)
    accounts = db.run(
        lambda tx: freeze_all_in(
            tx, list(SHOPS[:3]), FreezeReason.OVERDUE, note="overdue from X", actor="eod"
        )
    )
    assert [a.code for a in accounts.values()] == [f"wallet:{h}" for h in SHOPS[:3]]
    views = [wallets.wallet(db, h) for h in SHOPS]
    assert [v.freezes for v in views] == [("overdue",), ("overdue",), ("overdue", "risk"), ()]
    assert [v.state for v in views] == [AccountState.DEBIT_BLOCKED] * 3 + [AccountState.ACTIVE]
    # Only the wallet that was active has a new state change, with freeze_in's reason.
    assert state_changes(db) == [
        *before,
        ("wallet:agent:A001", "active", "debit_blocked", "freeze:overdue: overdue from X"),
    ]
    # Each reason is lifted on its own afterwards, as for a freeze made one at a time.
    wallets.unfreeze(db, SHOPS[0], FreezeReason.OVERDUE, note="paid", actor="loans")
    assert wallets.wallet(db, SHOPS[0]).state is AccountState.ACTIVE
    with pytest.raises(YirongError) as missing:
        db.run(
            lambda tx: freeze_all_in(
                tx, [SHOPS[3], "agent:A404"], FreezeReason.OVERDUE, note="x", actor="eod"
            )
        )
    assert missing.value.code == "wallet_not_found"
    assert wallets.wallet(db, SHOPS[3]).freezes == ()  # nothing of the refused call stays


def test_an_operator_lifts_a_freeze_but_never_an_overdue_loans(db: Database) -> None:
    wallets.open_wallets(db, [(SHOPS[0], "Shop")])
    wallets.freeze(db, SHOPS[0], FreezeReason.OVERDUE, note="loan past due", actor="eod")
    wallets.freeze(db, SHOPS[0], FreezeReason.RISK, note="check", actor="op1")
    for reason, note, code in (
        (FreezeReason.OVERDUE, "paid, they say", "freeze_not_liftable"),
        (FreezeReason.RISK, "  ", "reason_required"),
    ):
        with pytest.raises(YirongError) as refused:
            wallets.lift_freeze(db, SHOPS[0], reason, note=note, actor="op2")
        assert refused.value.code == code
    assert wallets.wallet(db, SHOPS[0]).freezes == ("overdue", "risk")  # nothing lifted
    lifted = wallets.lift_freeze(db, SHOPS[0], FreezeReason.RISK, note="cleared", actor="op2")
    assert lifted.freezes == ("overdue",) and lifted.state is AccountState.DEBIT_BLOCKED
