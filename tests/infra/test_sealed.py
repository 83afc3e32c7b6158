"""Funders' endpoint secrets are stored sealed: the database row does not hold them,
the platform still signs with them, and another secret key cannot open them."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.credit.market import lender
from yirong.errors import YirongError
from yirong.funders.public import set_events_endpoint
from yirong.funders.service import register_funder
from yirong.infra.db import Database
from yirong.infra.sealed import seal, unseal


def raw(db: Database, column: str) -> str:
    return str(
        db.run(
            lambda tx: tx.conn.execute(
                text(f"SELECT {column} FROM funders WHERE code = 'T1'")
            ).scalar_one()
        )
    )


def test_endpoint_secrets_are_stored_sealed(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    register_funder(db, lender("T1", "0.12", "2")[0])
    told = set_events_endpoint(db, "T1", "https://t1.example.com/events")
    stored = raw(db, "events_secret")
    assert told.events_secret not in stored and stored.startswith("fernet:")
    assert unseal(stored) == told.events_secret  # what delivery signs with
    # Sealed again, the same secret looks different (a fresh IV each time).
    assert seal(told.events_secret) != stored
    # Under another secret key it cannot be opened: a plain refusal, not garbage.
    monkeypatch.setenv("YIRONG_SECRET_KEY", "another-key-" + "x" * 40)
    with pytest.raises(YirongError) as refused:
        unseal(stored)
    assert refused.value.code == "sealed_secret_unreadable"


def test_a_secret_written_before_sealing_is_still_read(db: Database) -> None:
    register_funder(db, lender("T1", "0.12", "2")[0])
    db.run(
        lambda tx: tx.conn.execute(
            text("UPDATE funders SET events_secret = 'plain-old-secret' WHERE code = 'T1'")
        )
    )
    assert unseal(raw(db, "events_secret")) == "plain-old-secret"
