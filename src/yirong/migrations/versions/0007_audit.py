"""The append-only tables refuse TRUNCATE too (PostgreSQL); the audit log names the
person who signed in and the credential used, and what an action created.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from yirong.migrations.append_only import allow_truncate, forbid_truncate

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# Every table made append-only by an earlier revision.
APPEND_ONLY = (
    "ledger_accounts",
    "ledger_entries",
    "ledger_postings",
    "ledger_state_changes",
    "data_shares",
    "audit_log",
    "recon_actions",
)


def upgrade() -> None:
    forbid_truncate(APPEND_ONLY)
    # ADD COLUMN, not batch mode: SQLite's batch mode copies the table, which its
    # append-only triggers (rightly) refuse to let go of.
    op.add_column("audit_log", sa.Column("username", sa.String(length=64), nullable=True))
    op.add_column(
        "audit_log",
        sa.Column("credential", sa.String(length=40), nullable=False, server_default=""),
    )
    op.add_column("audit_log", sa.Column("detail", sa.String(length=300), nullable=True))


def downgrade() -> None:
    for column in ("detail", "credential", "username"):
        op.drop_column("audit_log", column)
    allow_truncate(APPEND_ONLY)
