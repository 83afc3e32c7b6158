"""The console's pages read in SQL: the audit log a page at a time, newest first, by
actor (its own index with the id, so one operator's latest records are read without
sorting a year of them) and by time; a funder's loans by the month they were lent
(its vintages, read from the index alone) and by due date (its loans past due); a
month's features in agent order (the watch list). Plain index statements, not a batch: on SQLite a batch would rebuild
the audit log's table and lose its append-only triggers.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_audit_log_actor", table_name="audit_log")
    op.create_index("ix_audit_log_actor_id", "audit_log", ["actor", "id"])
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    op.create_index(
        "ix_drawdowns_funder_credited",
        "drawdowns",
        ["funder_id", "credited_on", "due_date", "closed_on", "amount"],
    )
    op.create_index("ix_drawdowns_funder_due", "drawdowns", ["funder_id", "due_date"])
    op.create_index("ix_agent_features_as_of_agent", "agent_features", ["as_of", "agent_id"])


def downgrade() -> None:
    op.drop_index("ix_agent_features_as_of_agent", table_name="agent_features")
    op.drop_index("ix_drawdowns_funder_due", table_name="drawdowns")
    op.drop_index("ix_drawdowns_funder_credited", table_name="drawdowns")
    op.drop_index("ix_audit_log_at", table_name="audit_log")
    op.drop_index("ix_audit_log_actor_id", table_name="audit_log")
    op.create_index("ix_audit_log_actor", "audit_log", ["actor"])
