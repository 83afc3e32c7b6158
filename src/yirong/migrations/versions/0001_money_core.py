"""Money core: the ledger (books, accounts, balances, entries, postings), the
business date, wallets, their freezes and applied commission files.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from yirong.migrations.append_only import allow_changes, forbid_changes

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

APPEND_ONLY = ("ledger_accounts", "ledger_entries", "ledger_postings", "ledger_state_changes")


def upgrade() -> None:
    op.create_table(
        "business_calendar",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("opened_on", sa.Date(), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_business_calendar_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_business_calendar")),
    )
    op.create_table(
        "commission_files",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("total_fen", sa.BigInteger(), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column(
            "recorded_at",
            sa.DateTime(),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commission_files")),
        sa.UniqueConstraint("sha256", name=op.f("uq_commission_files_sha256")),
    )
    op.create_table(
        "ledger_books",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_ledger_books")),
    )
    op.create_table(
        "ledger_entries",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("idempotency_key", sa.String(length=128), nullable=False),
        sa.Column("fingerprint", sa.LargeBinary(length=16), nullable=False),
        sa.Column("book", sa.String(length=64), nullable=True),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("phase", sa.String(length=16), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("pending_id", sa.BigInteger(), nullable=True),
        sa.Column("reverses_id", sa.BigInteger(), nullable=True),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.Column("debit_block_exempt", sa.Boolean(), nullable=False),
        sa.Column("rejection", sa.String(length=64), nullable=True),
        sa.Column("memo", sa.Text(), nullable=True),
        sa.Column(
            "recorded_at",
            sa.DateTime(),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "(phase = 'rejected') = (rejection IS NOT NULL)",
            name=op.f("ck_ledger_entries_rejection_reason"),
        ),
        sa.CheckConstraint(
            "phase IN ('posted', 'pending', 'voided', 'expired', 'rejected')",
            name=op.f("ck_ledger_entries_known_phase"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_entries")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_ledger_entries_idempotency_key")),
    )
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ledger_entries_expiring",
            ["expires_on"],
            unique=False,
            postgresql_where=sa.text("phase = 'pending' AND expires_on IS NOT NULL"),
            sqlite_where=sa.text("phase = 'pending' AND expires_on IS NOT NULL"),
        )
        batch_op.create_index(
            "uq_ledger_entries_pending_id",
            ["pending_id"],
            unique=True,
            postgresql_where=sa.text("pending_id IS NOT NULL"),
            sqlite_where=sa.text("pending_id IS NOT NULL"),
        )
        batch_op.create_index(
            "uq_ledger_entries_reverses_id",
            ["reverses_id"],
            unique=True,
            postgresql_where=sa.text("reverses_id IS NOT NULL"),
            sqlite_where=sa.text("reverses_id IS NOT NULL"),
        )

    op.create_table(
        "ledger_accounts",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("code", sa.String(length=128), nullable=False),
        sa.Column("book", sa.String(length=64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("owner_type", sa.String(length=32), nullable=True),
        sa.Column("owner_ref", sa.String(length=64), nullable=True),
        sa.Column("shards", sa.SmallInteger(), nullable=False),
        sa.Column("debits_must_not_exceed_credits", sa.Boolean(), nullable=False),
        sa.Column("credits_must_not_exceed_debits", sa.Boolean(), nullable=False),
        sa.Column("opened_on", sa.Date(), nullable=False),
        sa.CheckConstraint(
            "NOT (debits_must_not_exceed_credits AND credits_must_not_exceed_debits)",
            name=op.f("ck_ledger_accounts_one_limit_flag"),
        ),
        sa.CheckConstraint(
            "shards = 1 OR NOT (debits_must_not_exceed_credits OR credits_must_not_exceed_debits)",
            name=op.f("ck_ledger_accounts_hot_accounts_have_no_limits"),
        ),
        sa.CheckConstraint(
            "shards >= 1 AND shards <= 256", name=op.f("ck_ledger_accounts_shards_range")
        ),
        sa.ForeignKeyConstraint(
            ["book"], ["ledger_books.code"], name=op.f("fk_ledger_accounts_book_ledger_books")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_accounts")),
        sa.UniqueConstraint("code", name=op.f("uq_ledger_accounts_code")),
    )
    op.create_table(
        "ledger_postings",
        sa.Column("entry_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("leg", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("shard", sa.SmallInteger(), nullable=False),
        sa.Column("side", sa.String(length=1), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("side IN ('D', 'C')", name=op.f("ck_ledger_postings_known_side")),
        sa.CheckConstraint("amount > 0", name=op.f("ck_ledger_postings_positive_amount")),
        sa.PrimaryKeyConstraint("entry_id", "leg", name=op.f("pk_ledger_postings")),
        sqlite_with_rowid=False,
    )
    with op.batch_alter_table("ledger_postings", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ledger_postings_account", ["account_id", "entry_id"], unique=False
        )

    op.create_table(
        "ledger_balances",
        sa.Column(
            "account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("shard", sa.SmallInteger(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("debits_pending", sa.BigInteger(), nullable=False),
        sa.Column("debits_posted", sa.BigInteger(), nullable=False),
        sa.Column("credits_pending", sa.BigInteger(), nullable=False),
        sa.Column("credits_posted", sa.BigInteger(), nullable=False),
        sa.Column("debits_must_not_exceed_credits", sa.Boolean(), nullable=False),
        sa.Column("credits_must_not_exceed_debits", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            "state IN ('active', 'debit_blocked', 'blocked', 'closed')",
            name=op.f("ck_ledger_balances_known_state"),
        ),
        sa.CheckConstraint(
            "NOT credits_must_not_exceed_debits OR credits_pending + credits_posted <= debits_posted",
            name=op.f("ck_ledger_balances_credits_within_debits"),
        ),
        sa.CheckConstraint(
            "NOT debits_must_not_exceed_credits OR debits_pending + debits_posted <= credits_posted",
            name=op.f("ck_ledger_balances_debits_within_credits"),
        ),
        sa.CheckConstraint(
            "debits_pending >= 0 AND debits_posted >= 0 AND credits_pending >= 0 AND credits_posted >= 0",
            name=op.f("ck_ledger_balances_non_negative"),
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["ledger_accounts.id"],
            name=op.f("fk_ledger_balances_account_id_ledger_accounts"),
        ),
        sa.PrimaryKeyConstraint("account_id", "shard", name=op.f("pk_ledger_balances")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "ledger_state_changes",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("from_state", sa.String(length=16), nullable=False),
        sa.Column("to_state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column(
            "recorded_at",
            sa.DateTime(),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["ledger_accounts.id"],
            name=op.f("fk_ledger_state_changes_account_id_ledger_accounts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_state_changes")),
    )
    with op.batch_alter_table("ledger_state_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ledger_state_changes_account_id"), ["account_id"], unique=False
        )

    op.create_table(
        "wallets",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("owner_type", sa.String(length=16), nullable=False),
        sa.Column("owner_code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("opened_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["ledger_accounts.id"],
            name=op.f("fk_wallets_account_id_ledger_accounts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wallets")),
        sa.UniqueConstraint("account_id", name=op.f("uq_wallets_account_id")),
        sa.UniqueConstraint(
            "owner_type", "owner_code", name=op.f("uq_wallets_owner_type_owner_code")
        ),
    )
    op.create_table(
        "wallet_freezes",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "wallet_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("frozen_by", sa.String(length=64), nullable=False),
        sa.Column("frozen_on", sa.Date(), nullable=False),
        sa.Column("lifted_on", sa.Date(), nullable=True),
        sa.Column("lifted_by", sa.String(length=64), nullable=True),
        sa.Column("lift_note", sa.String(length=500), nullable=True),
        sa.Column(
            "recorded_at",
            sa.DateTime(),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["wallet_id"], ["wallets.id"], name=op.f("fk_wallet_freezes_wallet_id_wallets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wallet_freezes")),
    )
    with op.batch_alter_table("wallet_freezes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_wallet_freezes_wallet_id"), ["wallet_id"], unique=False
        )
        batch_op.create_index(
            "uq_wallet_freezes_active",
            ["wallet_id", "reason"],
            unique=True,
            postgresql_where=sa.text("lifted_on IS NULL"),
            sqlite_where=sa.text("lifted_on IS NULL"),
        )

    forbid_changes(APPEND_ONLY)


def downgrade() -> None:
    allow_changes(APPEND_ONLY)
    with op.batch_alter_table("wallet_freezes", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_wallet_freezes_active",
            postgresql_where=sa.text("lifted_on IS NULL"),
            sqlite_where=sa.text("lifted_on IS NULL"),
        )
        batch_op.drop_index(batch_op.f("ix_wallet_freezes_wallet_id"))

    op.drop_table("wallet_freezes")
    op.drop_table("wallets")
    with op.batch_alter_table("ledger_state_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_state_changes_account_id"))

    op.drop_table("ledger_state_changes")
    op.drop_table("ledger_balances")
    with op.batch_alter_table("ledger_postings", schema=None) as batch_op:
        batch_op.drop_index("ix_ledger_postings_account")

    op.drop_table("ledger_postings")
    op.drop_table("ledger_accounts")
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_ledger_entries_reverses_id",
            postgresql_where=sa.text("reverses_id IS NOT NULL"),
            sqlite_where=sa.text("reverses_id IS NOT NULL"),
        )
        batch_op.drop_index(
            "uq_ledger_entries_pending_id",
            postgresql_where=sa.text("pending_id IS NOT NULL"),
            sqlite_where=sa.text("pending_id IS NOT NULL"),
        )
        batch_op.drop_index(
            "ix_ledger_entries_expiring",
            postgresql_where=sa.text("phase = 'pending' AND expires_on IS NOT NULL"),
            sqlite_where=sa.text("phase = 'pending' AND expires_on IS NOT NULL"),
        )

    op.drop_table("ledger_entries")
    op.drop_table("ledger_books")
    op.drop_table("commission_files")
    op.drop_table("business_calendar")
