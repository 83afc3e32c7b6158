"""Sign-in and funder credentials (issue 13, points 4 and 5): sign-in counters in place
of the failed sign-ins (counted before the password is checked, growing delays rather
than a lock); the nonces of signed requests; a funder's bank reference on one funding
notice only; API keys that never expire are given the default 90 days from now.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

FUNDING_REF = "kind = 'funding' AND their_ref <> ''"


def upgrade() -> None:
    with op.batch_alter_table("login_failures", schema=None) as batch_op:
        batch_op.drop_index("ix_login_failures_username_at")
        batch_op.drop_index(batch_op.f("ix_login_failures_client"))
    op.drop_table("login_failures")
    op.create_table(
        "login_counters",
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_allowed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_login_counters")),
    )
    with op.batch_alter_table("login_counters", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_login_counters_last_attempt_at"), ["last_attempt_at"], unique=False
        )
    op.create_table(
        "request_nonces",
        sa.Column("credential", sa.String(length=40), nullable=False),
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("credential", "nonce", name=op.f("pk_request_nonces")),
    )
    with op.batch_alter_table("request_nonces", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_request_nonces_expires_at"), ["expires_at"], unique=False
        )
    _refuse_reused_bank_refs()
    op.create_index(
        "uq_notices_funding_ref",
        "notices",
        ["party", "their_ref"],
        unique=True,
        postgresql_where=sa.text(FUNDING_REF),
        sqlite_where=sa.text(FUNDING_REF),
    )
    # "Keys expire by default": those issued before had no end; they get the default.
    keys = sa.table(
        "api_keys",
        sa.column("expires_at", sa.DateTime(timezone=True)),
        sa.column("revoked_at", sa.DateTime(timezone=True)),
    )
    op.execute(
        keys.update()
        .where(keys.c.expires_at.is_(None), keys.c.revoked_at.is_(None))
        .values(expires_at=datetime.now(UTC) + timedelta(days=90))
    )


def _refuse_reused_bank_refs() -> None:
    """Stop with a readable message (not a constraint's) when a funder already quoted
    one reference on two funding notices: an operator decides which is wrong."""
    reused = (
        op.get_bind()
        .execute(
            sa.text(
                f"SELECT party, their_ref FROM notices WHERE {FUNDING_REF}"
                " GROUP BY party, their_ref HAVING COUNT(*) > 1"
            )
        )
        .all()
    )
    if reused:
        listed = ", ".join(f"{party} {ref}" for party, ref in reused[:10])
        raise RuntimeError(
            f"funding notices quote the same bank reference twice ({listed}): dismiss or "
            "correct one of each pair, then upgrade again"
        )


def downgrade() -> None:
    op.drop_index("uq_notices_funding_ref", table_name="notices")
    with op.batch_alter_table("request_nonces", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_request_nonces_expires_at"))
    op.drop_table("request_nonces")
    with op.batch_alter_table("login_counters", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_counters_last_attempt_at"))
    op.drop_table("login_counters")
    op.create_table(
        "login_failures",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("client", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_failures")),
    )
    with op.batch_alter_table("login_failures", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_login_failures_client"), ["client"], unique=False)
        batch_op.create_index("ix_login_failures_username_at", ["username", "at"], unique=False)
