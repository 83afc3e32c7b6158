"""The service's own PostgreSQL role: it reads and writes the working tables, may only
insert into and read the append-only ones (the ledger's journal, the audit log...), and
owns nothing, so it cannot disable their triggers, truncate them or change the schema.
Migrations run as the tables' owner, who grants these rights after each upgrade."""

from __future__ import annotations

import re

from sqlalchemy import text

from yirong.errors import YirongError
from yirong.infra.db import Database

_ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

# The append-only tables are those a migration gave the append-only trigger.
_APPEND_ONLY = text(
    "SELECT DISTINCT c.relname FROM pg_trigger t "
    "JOIN pg_class c ON c.oid = t.tgrelid "
    "WHERE c.relnamespace = CAST(current_schema() AS regnamespace) "
    "AND t.tgname = c.relname || '_append_only'"
)
_TABLES = text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")


def grant_service_role(db: Database, role: str) -> dict[str, list[str]]:
    """Give ``role`` (made beforehand by whoever administers the server) what the
    service needs in the current schema, and nothing more. Safe to repeat. Returns the
    tables by the rights given."""
    if db.engine.dialect.name != "postgresql":
        raise YirongError("service_role_needs_postgres")
    if not _ROLE_NAME.match(role):
        raise YirongError("service_role_invalid", role=role)
    with db.engine.begin() as conn:
        if conn.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}) is None:
            raise YirongError("service_role_not_found", role=role)
        schema = conn.scalar(text("SELECT current_schema()"))
        append_only = set(conn.scalars(_APPEND_ONLY))
        tables = sorted(conn.scalars(_TABLES))
        quoted = f'"{role}"'
        conn.execute(text(f'GRANT USAGE ON SCHEMA "{schema}" TO {quoted}'))
        given: dict[str, list[str]] = {"read": [], "read_insert": [], "read_write": []}
        for table in tables:
            # Anything granted before (say, by hand) is taken back first.
            conn.execute(text(f'REVOKE ALL ON TABLE "{table}" FROM {quoted}'))
            if table == "alembic_version":
                rights, kind = "SELECT", "read"
            elif table in append_only:
                rights, kind = "SELECT, INSERT", "read_insert"
            else:
                rights, kind = "SELECT, INSERT, UPDATE, DELETE", "read_write"
            conn.execute(text(f'GRANT {rights} ON TABLE "{table}" TO {quoted}'))
            given[kind].append(table)
        conn.execute(text(f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA "{schema}" TO {quoted}'))
    return given
