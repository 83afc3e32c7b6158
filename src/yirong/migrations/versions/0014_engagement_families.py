"""One funder at a time in each product family: an agent's engagement (an application
in progress or an active line) is held per family, ``line`` (revolving or term) or
``order`` (order financing), so an agent may borrow on a line from one funder and
finance orders with another. The engagements there are are all the line family's.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("agent_engagements") as batch:
        batch.add_column(
            sa.Column("family", sa.String(length=8), nullable=False, server_default="line")
        )
    # No default from here: whoever takes a slot names its family.
    with op.batch_alter_table("agent_engagements") as batch:
        batch.alter_column("family", server_default=None)
        batch.drop_constraint("pk_agent_engagements", type_="primary")
        batch.create_primary_key("pk_agent_engagements", ["agent_id", "family"])


def downgrade() -> None:
    # Before families an agent held one engagement: the order family's cannot stay.
    op.execute("DELETE FROM agent_engagements WHERE family <> 'line'")
    with op.batch_alter_table("agent_engagements") as batch:
        batch.drop_constraint("pk_agent_engagements", type_="primary")
        batch.create_primary_key("pk_agent_engagements", ["agent_id"])
        batch.drop_column("family")
