"""Where benchmarks write: a schema of their own on PostgreSQL (dropped and made
again each run), a new file on SQLite. They never touch the operator's data."""

from __future__ import annotations

from sqlalchemy import create_engine, text

from yirong.infra.db import Database, Dialect, normalize_url
from yirong.infra.migrate import upgrade

BENCH_SCHEMA = "yirong_bench"


def bench_database(url: str | None, *, pool_size: int = 8, schema: str = BENCH_SCHEMA) -> Database:
    db = Database(url)
    if db.dialect is Dialect.POSTGRESQL:
        admin = create_engine(db.url)
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        admin.dispose()
        db.dispose()
        db = Database(url, pool_size=pool_size, pg_options=f"-c search_path={schema}")
    upgrade(db)
    return db


def url_with_schema(db: Database) -> str:
    """The URL a child process needs to reach the same schema."""
    return db.url.render_as_string(hide_password=False)


def drop_schema(url: str, schema: str) -> None:
    """A bench's PostgreSQL schema, dropped: a million loans take a few GB, and the
    book is not left behind."""
    engine = create_engine(normalize_url(url))
    with engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
    engine.dispose()
