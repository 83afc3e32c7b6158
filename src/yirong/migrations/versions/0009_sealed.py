"""Funders' endpoint secrets are stored sealed (infra/sealed.py): room for the sealed
form.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

COLUMNS = ("endpoint_secret", "events_secret")


def _resize(length: int) -> None:
    with op.batch_alter_table("funders") as batch:
        for column in COLUMNS:
            batch.alter_column(column, type_=sa.String(length))


def upgrade() -> None:
    _resize(500)


def downgrade() -> None:
    _resize(200)
