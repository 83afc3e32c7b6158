"""Fresh, migrated databases for tests: SQLite (a copy of a migrated template file)
and PostgreSQL (a schema per test worker, emptied before each use).

PostgreSQL comes from ``YIRONG_TEST_POSTGRES_URL``; ``make test`` sets it. When it is
unset, PostgreSQL tests fail with a message saying so: they are never skipped."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from yirong.infra.db import Database
from yirong.infra.migrate import upgrade

PG_ENV = "YIRONG_TEST_POSTGRES_URL"
BACKENDS = ("sqlite", "postgresql")

_templates: dict[str, Path] = {}  # one migrated SQLite file per test process
_pg_ready: set[str] = set()


def postgres_url() -> str:
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.fail(
            f"{PG_ENV} is not set: these tests need PostgreSQL. Run `make test`, or export "
            f"{PG_ENV}=postgresql+psycopg://postgres@127.0.0.1:5432/test",
            pytrace=False,
        )
    return url


def pg_schema() -> str:
    # The process id keeps two test runs at once (two terminals, or CI and a
    # developer) out of each other's schema.
    return f"yirong_test_{os.getpid()}"


def _drop_abandoned_schemas(conn: Any) -> None:
    """Schemas of test processes that no longer run (killed before cleaning up)."""
    names = conn.execute(
        text("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'yirong\\_test\\_%'")
    ).scalars()
    for name in names:
        pid = name.rsplit("_", 1)[-1]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            conn.execute(text(f"DROP SCHEMA IF EXISTS {name} CASCADE"))


def pg_options(schema: str) -> str:
    # Durability is not under test here (the crash test and the benchmark keep it on).
    return f"-c search_path={schema} -c synchronous_commit=off"


def fresh_database(backend: str, directory: Path | None = None) -> Database:
    if backend == "sqlite":
        return _fresh_sqlite(directory or Path(tempfile.mkdtemp(prefix="yirong-")))
    return _fresh_postgres()


def _fresh_sqlite(directory: Path) -> Database:
    if "sqlite" not in _templates:
        template = Path(tempfile.mkdtemp(prefix="yirong-template-")) / "template.db"
        template_db = Database(f"sqlite:///{template}", sqlite_synchronous="OFF")
        upgrade(template_db)
        template_db.dispose()
        _templates["sqlite"] = template
    target = directory / "yirong.db"
    shutil.copyfile(_templates["sqlite"], target)
    # Tests keep SQLite's shipped durability setting (FULL): it is what users run.
    return Database(f"sqlite:///{target}")


def _fresh_postgres() -> Database:
    url = postgres_url()
    schema = pg_schema()
    if schema not in _pg_ready:
        admin = create_engine(Database(url).url)
        with admin.begin() as conn:
            _drop_abandoned_schemas(conn)
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        admin.dispose()
        upgrade(Database(url, pg_options=pg_options(schema)))
        _pg_ready.add(schema)
    db = Database(url, pg_options=pg_options(schema), pool_size=10)
    with db.engine.begin() as conn:
        tables = conn.execute(
            text(
                "SELECT string_agg(quote_ident(tablename), ', ') FROM pg_tables "
                "WHERE schemaname = :schema AND tablename <> 'alembic_version'"
            ),
            {"schema": schema},
        ).scalar_one()
        # The append-only tables refuse TRUNCATE by trigger; the tests' superuser
        # sets triggers aside for the reset (the service's role could not).
        conn.execute(text("SET session_replication_role = replica"))
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        conn.execute(text("RESET session_replication_role"))
    return db


def drop_own_schema() -> None:
    """At the end of a test session: the schema this process made, if any."""
    schema = pg_schema()
    if schema in _pg_ready:
        admin = create_engine(Database(postgres_url()).url)
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        admin.dispose()
