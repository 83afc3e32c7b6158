"""The audit log and the ledger's journal cannot be emptied or edited: TRUNCATE is
refused by trigger (even to the tables' owner), and the service runs as a PostgreSQL
role that owns nothing, so it cannot set the triggers aside either. The whole story of
the demo runs under that role: it needs no more than it is given."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from tests.databases import fresh_database, pg_options, pg_schema, postgres_url
from yirong.api.server import serve
from yirong.demo.scenario import run_demo
from yirong.errors import YirongError
from yirong.infra.db import Database
from yirong.infra.roles import grant_service_role

# Written by hand: every table the migrations make append-only.
APPEND_ONLY = (
    "audit_log",
    "data_shares",
    "ledger_accounts",
    "ledger_entries",
    "ledger_postings",
    "ledger_state_changes",
    "recon_actions",
)


@pytest.fixture
def owner(tmp_path: Path) -> Iterator[Database]:
    db = fresh_database("postgresql", tmp_path)
    yield db
    db.dispose()


@pytest.fixture
def service_role(owner: Database) -> Iterator[str]:
    role = f"yirong_svc_{os.getpid()}"
    admin = create_engine(Database(postgres_url()).url)
    with admin.begin() as conn:  # one left by a killed run of this process id
        if conn.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}):
            conn.execute(text(f"DROP OWNED BY {role}"))
            conn.execute(text(f"DROP ROLE {role}"))
        conn.execute(text(f"CREATE ROLE {role} LOGIN"))
    try:
        yield role
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP OWNED BY {role}"))
            conn.execute(text(f"DROP ROLE {role}"))
        admin.dispose()


def as_role(role: str) -> Database:
    url = make_url(Database(postgres_url()).url).set(username=role, password=None)
    return Database(url.render_as_string(hide_password=False), pg_options=pg_options(pg_schema()))


@pytest.mark.parametrize("table", APPEND_ONLY)
def test_truncate_is_refused_even_to_the_owner(owner: Database, table: str) -> None:
    with pytest.raises(DBAPIError, match="append-only: TRUNCATE refused"):
        owner.run(lambda tx: tx.conn.execute(text(f"TRUNCATE {table} CASCADE")))


def test_the_grants_follow_the_append_only_triggers(owner: Database, service_role: str) -> None:
    given = grant_service_role(owner, service_role)
    assert sorted(given["read_insert"]) == sorted(APPEND_ONLY)
    assert given["read"] == ["alembic_version"]
    assert "wallets" in given["read_write"] and "ledger_balances" in given["read_write"]


def test_the_service_role_cannot_empty_edit_or_unguard_the_journal(
    owner: Database, service_role: str, tmp_path: Path
) -> None:
    grant_service_role(owner, service_role)
    service = as_role(service_role)
    try:
        result = run_demo(service, agents=40, days=12, seed=3, console=Console(quiet=True))
        assert result.verify_ok and result.bank_agrees
        attempts = [
            "TRUNCATE audit_log",
            "TRUNCATE ledger_postings CASCADE",
            "UPDATE ledger_postings SET amount = amount + 1",
            "DELETE FROM ledger_entries",
            "DELETE FROM audit_log",
            "ALTER TABLE ledger_postings DISABLE TRIGGER ALL",
            "DROP TRIGGER audit_log_append_only ON audit_log",
            "SET session_replication_role = replica",
            "CREATE TABLE mine (x int)",
        ]
        for statement in attempts:
            with pytest.raises(DBAPIError, match=r"permission denied|must be owner"):
                service.run(lambda tx, s=statement: tx.conn.execute(text(s)))
        postings = service.run(
            lambda tx: tx.conn.execute(text("SELECT count(*) FROM ledger_postings")).scalar()
        )
        assert postings and postings > 0
    finally:
        service.dispose()


def test_a_role_is_checked_before_anything_is_granted(owner: Database) -> None:
    for name, code in (
        ("Robert'); DROP TABLE x; --", "service_role_invalid"),
        ("nobody_here_at_all", "service_role_not_found"),
    ):
        with pytest.raises(YirongError) as refused:
            grant_service_role(owner, name)
        assert refused.value.code == code


def test_sqlite_has_no_roles(tmp_path: Path) -> None:
    db = fresh_database("sqlite", tmp_path)
    with pytest.raises(YirongError) as refused:
        grant_service_role(db, "yirong_app")
    assert refused.value.code == "service_role_needs_postgres"


def test_serving_as_the_service_role_does_not_migrate_a_schema_behind_the_code(
    owner: Database, service_role: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The service role may not change the schema: a schema older than the code is
    refused (the tables' owner runs `yirong db upgrade`), not half migrated."""
    grant_service_role(owner, service_role)
    monkeypatch.setenv("YIRONG_SECRET_KEY", "a-long-enough-key-for-this-one-test-0123")
    version = "SELECT version_num FROM alembic_version"
    head = owner.run(lambda tx: tx.conn.scalar(text(version)))
    owner.run(lambda tx: tx.conn.execute(text("UPDATE alembic_version SET version_num = '0009'")))
    url = make_url(Database(postgres_url()).url).set(
        username=service_role, password=None, query={"options": pg_options(pg_schema())}
    )
    try:
        with pytest.raises(YirongError) as refused:
            serve(url.render_as_string(hide_password=False), port=1)
        assert owner.run(lambda tx: tx.conn.scalar(text(version))) == "0009"  # as it was
    finally:
        owner.run(
            lambda tx: tx.conn.execute(
                text("UPDATE alembic_version SET version_num = :v"), {"v": head}
            )
        )
    assert refused.value.code == "schema_out_of_date"
    assert "permission denied" in str(refused.value.__cause__)
