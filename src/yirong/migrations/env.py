"""Alembic environment: migrates the connection it is handed (``yirong db upgrade``)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from yirong.schema import metadata


def run() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:  # plain `alembic` use by a developer: URL from the config
        engine = create_engine(context.config.get_main_option("sqlalchemy.url") or "")
        with engine.begin() as conn:
            _migrate(conn)
        return
    _migrate(connection)


def _migrate(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=True,  # SQLite alters tables by copying them
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run()
