"""Credit marketplace: agents, business features (and the closed months they are
summed from), funders and products, the
operator's dated policy, consents and data shares, pre-approval offers, formal
applications, credit lines and the one-funder-at-a-time engagement.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from yirong.migrations.append_only import allow_changes, forbid_changes

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# Who saw what, under which consent, is evidence: never edited.
APPEND_ONLY = ("data_shares",)


def upgrade() -> None:
    op.create_table(
        "agents",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("legal_rep_name", sa.String(length=100), nullable=False),
        sa.Column("legal_rep_id", sa.String(length=18), nullable=False),
        sa.Column("mobile", sa.String(length=20), nullable=False),
        sa.Column("bank_card", sa.String(length=19), nullable=False),
        sa.Column("bank_name", sa.String(length=100), nullable=False),
        sa.Column("wallet_class", sa.SmallInteger(), nullable=False),
        sa.Column("carrier_since", sa.Date(), nullable=False),
        sa.Column("onboarded_on", sa.Date(), nullable=False),
        sa.Column(
            "recorded_at",
            sa.DateTime(),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.CheckConstraint("wallet_class BETWEEN 1 AND 3", name=op.f("ck_agents_wallet_class")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agents")),
        sa.UniqueConstraint("code", name=op.f("uq_agents_code")),
        sa.UniqueConstraint("uscc", name=op.f("uq_agents_uscc")),
    )
    op.create_table(
        "funders",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("licence", sa.String(length=32), nullable=False),
        sa.Column("contact", sa.String(length=200), nullable=False),
        sa.Column("settlement_bank_account", sa.String(length=40), nullable=False),
        sa.Column("settlement_bank_name", sa.String(length=100), nullable=False),
        sa.Column("revenue_share_ppm", sa.Integer(), nullable=False),
        sa.Column("decision_mode", sa.String(length=16), nullable=False),
        sa.Column("scorecard", sa.Text(), nullable=True),
        sa.Column("endpoint_url", sa.String(length=500), nullable=True),
        sa.Column("endpoint_secret", sa.String(length=200), nullable=True),
        sa.Column("opened_on", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_funders")),
        sa.UniqueConstraint("code", name=op.f("uq_funders_code")),
    )
    op.create_table(
        "policy_settings",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("set_by", sa.String(length=64), nullable=False),
        sa.Column(
            "recorded_at",
            sa.DateTime(),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_settings")),
        sa.UniqueConstraint(
            "key", "effective_from", name=op.f("uq_policy_settings_key_effective_from")
        ),
    )
    op.create_table(
        "preapproval_runs",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("agents", sa.Integer(), nullable=False),
        sa.Column("offers_created", sa.Integer(), nullable=False),
        sa.Column("offers_expired", sa.Integer(), nullable=False),
        sa.Column("report", sa.Text(), nullable=False),
        sa.Column(
            "recorded_at",
            sa.DateTime(),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_preapproval_runs")),
    )
    op.create_table(
        "agent_engagements",
        sa.Column("agent_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("funder_id", sa.BigInteger(), nullable=False),
        sa.Column("application_id", sa.BigInteger(), nullable=False),
        sa.Column("line_id", sa.BigInteger(), nullable=True),
        sa.Column("since", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_agent_engagements_agent_id_agents")
        ),
        sa.PrimaryKeyConstraint("agent_id", name=op.f("pk_agent_engagements")),
    )
    op.create_table(
        "agent_features",
        sa.Column("agent_id", sa.BigInteger(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("income_3m", sa.BigInteger(), nullable=False),
        sa.Column("income_6m", sa.BigInteger(), nullable=False),
        sa.Column("income_12m", sa.BigInteger(), nullable=False),
        sa.Column("prepay_12m", sa.BigInteger(), nullable=False),
        sa.Column("months_without_income", sa.SmallInteger(), nullable=False),
        sa.Column("trend_ppm", sa.BigInteger(), nullable=True),
        sa.Column("volatility_ppm", sa.Integer(), nullable=True),
        sa.Column("tenure_months", sa.SmallInteger(), nullable=False),
        sa.Column("overdue_days", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("agent_id", "as_of", name=op.f("pk_agent_features")),
    )
    op.create_table(
        "consents",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("agent_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("funder_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("fields", sa.String(length=500), nullable=False),
        sa.Column("text_version", sa.String(length=32), nullable=False),
        sa.Column("given_on", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("withdrawn_on", sa.Date(), nullable=True),
        sa.Column(
            "recorded_at",
            sa.DateTime(),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_consents_agent_id_agents")
        ),
        sa.ForeignKeyConstraint(
            ["funder_id"], ["funders.id"], name=op.f("fk_consents_funder_id_funders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consents")),
    )
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_consents_agent_id"), ["agent_id"], unique=False)

    op.create_table(
        "funder_products",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "funder_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("method", sa.String(length=24), nullable=False),
        sa.Column("min_rate_ppm", sa.Integer(), nullable=False),
        sa.Column("max_rate_ppm", sa.Integer(), nullable=False),
        sa.Column("min_limit", sa.BigInteger(), nullable=False),
        sa.Column("max_limit", sa.BigInteger(), nullable=False),
        sa.Column("min_term_days", sa.Integer(), nullable=False),
        sa.Column("max_term_days", sa.Integer(), nullable=False),
        sa.Column("periods", sa.SmallInteger(), nullable=True),
        sa.Column("day_basis", sa.SmallInteger(), nullable=False),
        sa.Column("penalty_multiplier_ppm", sa.Integer(), nullable=False),
        sa.Column("grace_days", sa.SmallInteger(), nullable=False),
        sa.Column("allocation_order", sa.String(length=64), nullable=False),
        sa.Column("fee_ppm", sa.Integer(), nullable=False),
        sa.Column("offer_valid_days", sa.SmallInteger(), nullable=False),
        sa.Column("line_valid_days", sa.SmallInteger(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            "0 < min_limit AND min_limit <= max_limit", name=op.f("ck_funder_products_limit_range")
        ),
        sa.CheckConstraint(
            "0 < min_term_days AND min_term_days <= max_term_days",
            name=op.f("ck_funder_products_term_range"),
        ),
        sa.CheckConstraint("day_basis IN (360, 365)", name=op.f("ck_funder_products_day_basis")),
        sa.CheckConstraint(
            "min_rate_ppm <= max_rate_ppm", name=op.f("ck_funder_products_rate_range")
        ),
        sa.ForeignKeyConstraint(
            ["funder_id"], ["funders.id"], name=op.f("fk_funder_products_funder_id_funders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_funder_products")),
        sa.UniqueConstraint("funder_id", "code", name=op.f("uq_funder_products_funder_id_code")),
    )
    with op.batch_alter_table("funder_products", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_funder_products_funder_id"), ["funder_id"], unique=False
        )

    op.create_table(
        "data_shares",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("consent_id", sa.BigInteger(), nullable=False),
        sa.Column("agent_id", sa.BigInteger(), nullable=False),
        sa.Column("funder_id", sa.BigInteger(), nullable=False),
        sa.Column("fields", sa.String(length=500), nullable=False),
        sa.Column("identified", sa.Boolean(), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("shared_on", sa.Date(), nullable=False),
        sa.Column(
            "recorded_at",
            sa.DateTime(),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_shares")),
    )
    with op.batch_alter_table("data_shares", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_data_shares_consent_id"), ["consent_id"], unique=False)

    op.create_table(
        "offers",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("run_id", sa.BigInteger(), nullable=True),
        sa.Column("agent_id", sa.BigInteger(), nullable=False),
        sa.Column("funder_id", sa.BigInteger(), nullable=False),
        sa.Column("product_id", sa.BigInteger(), nullable=False),
        sa.Column("credit_limit", sa.BigInteger(), nullable=False),
        sa.Column("annual_rate_ppm", sa.Integer(), nullable=False),
        sa.Column("term_days", sa.Integer(), nullable=False),
        sa.Column("apr_ppm", sa.Integer(), nullable=False),
        sa.Column("offered_on", sa.Date(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offers")),
    )
    with op.batch_alter_table("offers", schema=None) as batch_op:
        batch_op.create_index(
            "uq_offers_live",
            ["agent_id", "product_id"],
            unique=True,
            postgresql_where=sa.text("status = 'live'"),
            sqlite_where=sa.text("status = 'live'"),
        )

    op.create_table(
        "credit_applications",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("agent_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "funder_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("offer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "consent_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("submitted_on", sa.Date(), nullable=False),
        sa.Column("decided_on", sa.Date(), nullable=True),
        sa.Column("reason_code", sa.String(length=32), nullable=True),
        sa.Column("line_id", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_credit_applications_agent_id_agents")
        ),
        sa.ForeignKeyConstraint(
            ["consent_id"], ["consents.id"], name=op.f("fk_credit_applications_consent_id_consents")
        ),
        sa.ForeignKeyConstraint(
            ["funder_id"], ["funders.id"], name=op.f("fk_credit_applications_funder_id_funders")
        ),
        sa.ForeignKeyConstraint(
            ["offer_id"], ["offers.id"], name=op.f("fk_credit_applications_offer_id_offers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_applications")),
    )
    with op.batch_alter_table("credit_applications", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_credit_applications_agent_id"), ["agent_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_credit_applications_funder_id"), ["funder_id"], unique=False
        )

    op.create_table(
        "credit_lines",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("agent_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "funder_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "product_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "application_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("credit_limit", sa.BigInteger(), nullable=False),
        sa.Column("annual_rate_ppm", sa.Integer(), nullable=False),
        sa.Column("max_term_days", sa.Integer(), nullable=False),
        sa.Column("opened_on", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("close_reason", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_credit_lines_agent_id_agents")
        ),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["credit_applications.id"],
            name=op.f("fk_credit_lines_application_id_credit_applications"),
        ),
        sa.ForeignKeyConstraint(
            ["funder_id"], ["funders.id"], name=op.f("fk_credit_lines_funder_id_funders")
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["funder_products.id"],
            name=op.f("fk_credit_lines_product_id_funder_products"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_lines")),
    )
    with op.batch_alter_table("credit_lines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_credit_lines_agent_id"), ["agent_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_credit_lines_funder_id"), ["funder_id"], unique=False)

    forbid_changes(APPEND_ONLY)


def downgrade() -> None:
    allow_changes(APPEND_ONLY)
    with op.batch_alter_table("credit_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_credit_lines_funder_id"))
        batch_op.drop_index(batch_op.f("ix_credit_lines_agent_id"))

    op.drop_table("credit_lines")
    with op.batch_alter_table("credit_applications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_credit_applications_funder_id"))
        batch_op.drop_index(batch_op.f("ix_credit_applications_agent_id"))

    op.drop_table("credit_applications")
    with op.batch_alter_table("offers", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_offers_live",
            postgresql_where=sa.text("status = 'live'"),
            sqlite_where=sa.text("status = 'live'"),
        )

    op.drop_table("offers")
    with op.batch_alter_table("data_shares", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_data_shares_consent_id"))

    op.drop_table("data_shares")
    with op.batch_alter_table("funder_products", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_funder_products_funder_id"))

    op.drop_table("funder_products")
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consents_agent_id"))

    op.drop_table("consents")
    op.drop_table("agent_features")
    op.drop_table("agent_engagements")
    op.drop_table("preapproval_runs")
    op.drop_table("policy_settings")
    op.drop_table("funders")
    op.drop_table("agents")
