"""Triggers that make ledger tables append-only in the database itself: postings
are never edited, only reversed, whatever code (or person) connects.

On PostgreSQL a row trigger does not see ``TRUNCATE``, so a statement trigger refuses
that too. A table's owner can still disable triggers: the service therefore connects
as a role that does not own the tables (``infra/roles.py``)."""

from __future__ import annotations

from collections.abc import Iterable

from alembic import op

_PG_FUNCTION = """
CREATE OR REPLACE FUNCTION yirong_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'restrict_violation';
END $$
"""


def forbid_changes(tables: Iterable[str]) -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(_PG_FUNCTION)
    for table in tables:
        if dialect == "postgresql":
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION yirong_append_only()"
            )
            forbid_truncate([table])
        else:
            for action in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {action} refused'); END"
                )


def forbid_truncate(tables: Iterable[str]) -> None:
    """PostgreSQL only (SQLite has no TRUNCATE: its ``DELETE`` triggers cover it).
    ``OR REPLACE``: revision 0007 adds it to the tables made append-only before it."""
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in tables:
        op.execute(
            f"CREATE OR REPLACE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION yirong_append_only()"
        )


def allow_truncate(tables: Iterable[str]) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in tables:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")


def allow_changes(tables: Iterable[str]) -> None:
    dialect = op.get_bind().dialect.name
    for table in tables:
        if dialect == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
            allow_truncate([table])
        else:
            for action in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{action}")
