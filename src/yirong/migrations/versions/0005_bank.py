"""Money only from the bank: the platform's bank accounts, statement files and their
lines, notices, matching rules, the exception queue (its actions append-only) with
maker-checker approvals, outbound payments, and commission files that wait for the
carrier's money. Funding receipts are gone: a bank line is the receipt.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from yirong.migrations.append_only import allow_changes, forbid_changes

APPEND_ONLY = ("recon_actions",)


revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bank_accounts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("bank_name", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("ledger_account", sa.String(length=64), nullable=False),
        sa.Column("opened_on", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_accounts")),
        sa.UniqueConstraint("ledger_account", name=op.f("uq_bank_accounts_ledger_account")),
        sa.UniqueConstraint("number", name=op.f("uq_bank_accounts_number")),
    )
    op.create_table(
        "match_rules",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("auto", sa.Boolean(), nullable=False),
        sa.Column("amount_tolerance_fen", sa.BigInteger(), nullable=False),
        sa.Column("days_before", sa.Integer(), nullable=False),
        sa.Column("days_after", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_match_rules")),
    )
    op.create_table(
        "notices",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("party", sa.String(length=80), nullable=False),
        sa.Column("recorded_by", sa.String(length=80), nullable=False),
        sa.Column("request_key", sa.String(length=128), nullable=False),
        sa.Column("target", sa.String(length=80), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("their_ref", sa.String(length=80), nullable=False),
        sa.Column("value_date", sa.Date(), nullable=False),
        sa.Column("said_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("line_id", sa.BigInteger(), nullable=True),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notices")),
        sa.UniqueConstraint(
            "recorded_by", "request_key", name=op.f("uq_notices_recorded_by_request_key")
        ),
    )
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.create_index("ix_notices_open", ["status", "kind"], unique=False)
        batch_op.create_index(batch_op.f("ix_notices_target"), ["target"], unique=False)

    op.create_table(
        "payments",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("reference", sa.String(length=24), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("hold_entry_id", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.String(length=80), nullable=False),
        sa.Column("bank_account", sa.String(length=80), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("payee_name", sa.String(length=200), nullable=True),
        sa.Column("payee_account", sa.String(length=40), nullable=True),
        sa.Column("payee_bank", sa.String(length=100), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("instructed_on", sa.Date(), nullable=False),
        sa.Column("settled_on", sa.Date(), nullable=True),
        sa.Column("returned_on", sa.Date(), nullable=True),
        sa.Column("bank_line_id", sa.BigInteger(), nullable=True),
        sa.Column("return_line_id", sa.BigInteger(), nullable=True),
        sa.Column("note", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
        sa.UniqueConstraint("hold_entry_id", name=op.f("uq_payments_hold_entry_id")),
        sa.UniqueConstraint("reference", name=op.f("uq_payments_reference")),
    )
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.create_index("ix_payments_status", ["status", "instructed_on"], unique=False)

    op.create_table(
        "recon_actions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("exception_id", sa.BigInteger(), nullable=False),
        sa.Column("action", sa.String(length=24), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column(
            "recorded_at",
            sa.DateTime(),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recon_actions")),
    )
    with op.batch_alter_table("recon_actions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_recon_actions_exception_id"), ["exception_id"], unique=False
        )

    op.create_table(
        "recon_approvals",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("exception_id", sa.BigInteger(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("target", sa.String(length=120), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("maker", sa.String(length=80), nullable=False),
        sa.Column("made_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("checker", sa.String(length=80), nullable=True),
        sa.Column("decided_on", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recon_approvals")),
    )
    with op.batch_alter_table("recon_approvals", schema=None) as batch_op:
        batch_op.create_index(
            "uq_recon_approvals_pending",
            ["exception_id"],
            unique=True,
            postgresql_where=sa.text("status = 'pending'"),
            sqlite_where=sa.text("status = 'pending'"),
        )

    op.create_table(
        "recon_exceptions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("line_id", sa.BigInteger(), nullable=True),
        sa.Column("notice_id", sa.BigInteger(), nullable=True),
        sa.Column("payment_id", sa.BigInteger(), nullable=True),
        sa.Column("direction", sa.String(length=1), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("detail", sa.String(length=300), nullable=False),
        sa.Column("proposal", sa.String(length=120), nullable=True),
        sa.Column("opened_on", sa.Date(), nullable=False),
        sa.Column("owner", sa.String(length=80), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("resolution", sa.String(length=16), nullable=True),
        sa.Column("resolved_on", sa.Date(), nullable=True),
        sa.Column("resolved_by", sa.String(length=80), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recon_exceptions")),
    )
    with op.batch_alter_table("recon_exceptions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_recon_exceptions_notice_id"), ["notice_id"], unique=False
        )
        batch_op.create_index("ix_recon_exceptions_open", ["status", "id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_recon_exceptions_payment_id"), ["payment_id"], unique=False
        )
        batch_op.create_index(
            "uq_recon_exceptions_open_line",
            ["line_id"],
            unique=True,
            postgresql_where=sa.text("status = 'open'"),
            sqlite_where=sa.text("status = 'open'"),
        )

    op.create_table(
        "statement_files",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("format", sa.String(length=16), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("statements", sa.Integer(), nullable=False),
        sa.Column("lines", sa.Integer(), nullable=False),
        sa.Column("new_lines", sa.Integer(), nullable=True),
        sa.Column("duplicate_lines", sa.Integer(), nullable=True),
        sa.Column("matched_lines", sa.Integer(), nullable=True),
        sa.Column("partial_lines", sa.Integer(), nullable=True),
        sa.Column("exception_lines", sa.Integer(), nullable=True),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("received_by", sa.String(length=80), nullable=False),
        sa.Column(
            "recorded_at",
            sa.DateTime(),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_statement_files")),
        sa.UniqueConstraint("sha256", name=op.f("uq_statement_files_sha256")),
    )
    op.create_table(
        "bank_lines",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("bank_account_id", sa.Integer(), nullable=False),
        sa.Column("identity", sa.String(length=80), nullable=False),
        sa.Column("file_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("statement_id", sa.BigInteger(), nullable=False),
        sa.Column("booking_date", sa.Date(), nullable=False),
        sa.Column("value_date", sa.Date(), nullable=False),
        sa.Column("direction", sa.String(length=1), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("counterparty_name", sa.String(length=200), nullable=False),
        sa.Column("counterparty_account", sa.String(length=40), nullable=False),
        sa.Column("counterparty_bank", sa.String(length=100), nullable=False),
        sa.Column("memo", sa.String(length=500), nullable=False),
        sa.Column("bank_serial", sa.String(length=80), nullable=False),
        sa.Column("end_to_end_ref", sa.String(length=80), nullable=False),
        sa.Column("virtual_account", sa.String(length=40), nullable=False),
        sa.Column("balance_after", sa.BigInteger(), nullable=True),
        sa.Column("booked_at", sa.String(length=8), nullable=True),
        sa.Column("reversal", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("suspense_entry_id", sa.BigInteger(), nullable=True),
        sa.Column("suspense_moves", sa.Integer(), nullable=False),
        sa.Column("target", sa.String(length=16), nullable=True),
        sa.Column("target_ref", sa.String(length=200), nullable=True),
        sa.Column("matched_by", sa.String(length=120), nullable=True),
        sa.Column("matched_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["bank_account_id"],
            ["bank_accounts.id"],
            name=op.f("fk_bank_lines_bank_account_id_bank_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["file_id"], ["statement_files.id"], name=op.f("fk_bank_lines_file_id_statement_files")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_lines")),
        sa.UniqueConstraint(
            "bank_account_id", "identity", name=op.f("uq_bank_lines_bank_account_id_identity")
        ),
    )
    with op.batch_alter_table("bank_lines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bank_lines_file_id"), ["file_id"], unique=False)
        batch_op.create_index("ix_bank_lines_status", ["status"], unique=False)
        batch_op.create_index("ix_bank_lines_target", ["target_ref"], unique=False)

    op.create_table(
        "commission_file_rows",
        sa.Column("agent", sa.String(length=64), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("file_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["file_id"],
            ["commission_files.id"],
            name=op.f("fk_commission_file_rows_file_id_commission_files"),
        ),
        sa.PrimaryKeyConstraint("agent", "month", name=op.f("pk_commission_file_rows")),
    )
    with op.batch_alter_table("commission_file_rows", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_commission_file_rows_file_id"), ["file_id"], unique=False
        )

    op.create_table(
        "statements",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("file_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("bank_account_id", sa.Integer(), nullable=False),
        sa.Column("bank_statement_id", sa.String(length=80), nullable=False),
        sa.Column("from_date", sa.Date(), nullable=False),
        sa.Column("to_date", sa.Date(), nullable=False),
        sa.Column("opening_balance", sa.BigInteger(), nullable=False),
        sa.Column("closing_balance", sa.BigInteger(), nullable=False),
        sa.Column("credits", sa.BigInteger(), nullable=False),
        sa.Column("debits", sa.BigInteger(), nullable=False),
        sa.Column("lines", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["bank_account_id"],
            ["bank_accounts.id"],
            name=op.f("fk_statements_bank_account_id_bank_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["file_id"], ["statement_files.id"], name=op.f("fk_statements_file_id_statement_files")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_statements")),
    )
    with op.batch_alter_table("statements", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_statements_file_id"), ["file_id"], unique=False)

    with op.batch_alter_table("funding_receipts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_funding_receipts_outcome"))

    op.drop_table("funding_receipts")
    with op.batch_alter_table("commission_files", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("state", sa.String(length=16), nullable=False, server_default="applied")
        )
        batch_op.add_column(sa.Column("applied_on", sa.Date(), nullable=True))

    forbid_changes(APPEND_ONLY)


def downgrade() -> None:
    allow_changes(APPEND_ONLY)
    with op.batch_alter_table("commission_files", schema=None) as batch_op:
        batch_op.drop_column("applied_on")
        batch_op.drop_column("state")

    op.create_table(
        "funding_receipts",
        sa.Column("id", sa.INTEGER(), nullable=False),
        sa.Column("bank_ref", sa.VARCHAR(length=64), nullable=False),
        sa.Column("funder_code", sa.VARCHAR(length=32), nullable=False),
        sa.Column("reference", sa.VARCHAR(length=64), nullable=False),
        sa.Column("amount", sa.BIGINT(), nullable=False),
        sa.Column("received_on", sa.DATE(), nullable=False),
        sa.Column("outcome", sa.VARCHAR(length=16), nullable=False),
        sa.Column("drawdown_id", sa.BIGINT(), nullable=True),
        sa.Column("entry_id", sa.BIGINT(), nullable=False),
        sa.Column("resolved_on", sa.DATE(), nullable=True),
        sa.Column("resolution", sa.VARCHAR(length=16), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_funding_receipts")),
        sa.UniqueConstraint("bank_ref", name=op.f("uq_funding_receipts_bank_ref")),
    )
    with op.batch_alter_table("funding_receipts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_funding_receipts_outcome"), ["outcome"], unique=False)

    with op.batch_alter_table("statements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_statements_file_id"))

    op.drop_table("statements")
    with op.batch_alter_table("commission_file_rows", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_commission_file_rows_file_id"))

    op.drop_table("commission_file_rows")
    with op.batch_alter_table("bank_lines", schema=None) as batch_op:
        batch_op.drop_index("ix_bank_lines_target")
        batch_op.drop_index("ix_bank_lines_status")
        batch_op.drop_index(batch_op.f("ix_bank_lines_file_id"))

    op.drop_table("bank_lines")
    op.drop_table("statement_files")
    with op.batch_alter_table("recon_exceptions", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_recon_exceptions_open_line",
            postgresql_where=sa.text("status = 'open'"),
            sqlite_where=sa.text("status = 'open'"),
        )
        batch_op.drop_index(batch_op.f("ix_recon_exceptions_payment_id"))
        batch_op.drop_index("ix_recon_exceptions_open")
        batch_op.drop_index(batch_op.f("ix_recon_exceptions_notice_id"))

    op.drop_table("recon_exceptions")
    with op.batch_alter_table("recon_approvals", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_recon_approvals_pending",
            postgresql_where=sa.text("status = 'pending'"),
            sqlite_where=sa.text("status = 'pending'"),
        )

    op.drop_table("recon_approvals")
    with op.batch_alter_table("recon_actions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recon_actions_exception_id"))

    op.drop_table("recon_actions")
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_index("ix_payments_status")

    op.drop_table("payments")
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notices_target"))
        batch_op.drop_index("ix_notices_open")

    op.drop_table("notices")
    op.drop_table("match_rules")
    op.drop_table("bank_accounts")
