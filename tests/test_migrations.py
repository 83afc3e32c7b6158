"""The migrations and the models describe the same schema, on both databases, and
the schema can be taken down and up again."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from yirong.infra.db import Database
from yirong.infra.migrate import alembic_config, current_revision, head_revision, upgrade
from yirong.schema import metadata


def test_models_match_migrations(db: Database) -> None:
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_upgrade_is_idempotent_and_reaches_head(db: Database) -> None:
    assert current_revision(db) == head_revision(db)
    assert upgrade(db) == head_revision(db)


def test_downgrade_then_upgrade(db: Database) -> None:
    from alembic import command

    config = alembic_config(db)
    with db.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "base")
    with db.engine.connect() as conn:
        assert "ledger_entries" not in inspect(conn).get_table_names()
    upgrade(db)
    with db.engine.connect() as conn:
        assert "ledger_entries" in inspect(conn).get_table_names()
