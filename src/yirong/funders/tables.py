"""Funders (资金方): licensed lenders, how each decides, and the products it offers."""

from __future__ import annotations

from datetime import date

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from yirong.infra.base import Base, Id
from yirong.infra.sealed import Sealed


class Funder(Base):
    __tablename__ = "funders"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    licence: Mapped[str] = mapped_column(String(32))  # micro_loan | internet_micro_loan | factoring
    contact: Mapped[str] = mapped_column(String(200))  # told to agents before they consent
    settlement_bank_account: Mapped[str] = mapped_column(String(40))
    settlement_bank_name: Mapped[str] = mapped_column(String(100))
    # The platform's share of the interest the funder actually collects (分润).
    revenue_share_ppm: Mapped[int] = mapped_column(Integer)
    # How the share is settled, as the agreement says: "statement" (the funder pays the
    # monthly revenue-share statement) or "net" (kept back from each daily payout).
    share_settlement: Mapped[str] = mapped_column(String(16), default="statement")
    decision_mode: Mapped[str] = mapped_column(String(16))  # scorecard | http | manual
    scorecard: Mapped[str | None] = mapped_column(Text)  # JSON, for scorecard funders
    endpoint_url: Mapped[str | None] = mapped_column(String(500))  # for http funders
    endpoint_secret: Mapped[str | None] = mapped_column(Sealed)  # HMAC key, both ways
    # Where the platform pushes this funder's events (outbox), signed with events_secret.
    events_url: Mapped[str | None] = mapped_column(String(500))
    events_secret: Mapped[str | None] = mapped_column(Sealed)  # stored sealed
    opened_on: Mapped[date] = mapped_column(Date)


class FunderProduct(Base):
    __tablename__ = "funder_products"
    __table_args__ = (
        UniqueConstraint("funder_id", "code"),
        CheckConstraint("min_rate_ppm <= max_rate_ppm", name="rate_range"),
        CheckConstraint("0 < min_limit AND min_limit <= max_limit", name="limit_range"),
        CheckConstraint("0 < min_term_days AND min_term_days <= max_term_days", name="term_range"),
        CheckConstraint("day_basis IN (360, 365)", name="day_basis"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    funder_id: Mapped[int] = mapped_column(ForeignKey("funders.id"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))  # revolving (a credit line) | term | order
    # revolving: daily interest, each drawdown a bullet at its due date (随借随还);
    # term: equal-installment | equal-principal | interest-only over `periods` months.
    method: Mapped[str] = mapped_column(String(24))
    min_rate_ppm: Mapped[int] = mapped_column(Integer)
    max_rate_ppm: Mapped[int] = mapped_column(Integer)
    min_limit: Mapped[int] = mapped_column(BigInteger)
    max_limit: Mapped[int] = mapped_column(BigInteger)
    min_term_days: Mapped[int] = mapped_column(Integer)
    max_term_days: Mapped[int] = mapped_column(Integer)
    periods: Mapped[int | None] = mapped_column(SmallInteger)
    day_basis: Mapped[int] = mapped_column(SmallInteger)
    penalty_multiplier_ppm: Mapped[int] = mapped_column(Integer)  # 1.5x = 1_500_000
    grace_days: Mapped[int] = mapped_column(SmallInteger)
    # Unpaid overdue interest bears interest at the penalty rate (复利), term loans.
    compounds: Mapped[bool] = mapped_column(Boolean, server_default=true())
    allocation_order: Mapped[str] = mapped_column(String(64))  # penalty,interest,principal
    fee_ppm: Mapped[int] = mapped_column(Integer)  # upfront fee on each drawdown, borrower-paid
    # Order financing only: the most an advance may be of the order's value (less what
    # was cancelled or returned), and the margin (保证金) held from the agent's wallet
    # as a share of the advance until it is repaid.
    advance_rate_ppm: Mapped[int | None] = mapped_column(Integer)
    margin_ppm: Mapped[int | None] = mapped_column(Integer)
    offer_valid_days: Mapped[int] = mapped_column(SmallInteger)
    line_valid_days: Mapped[int] = mapped_column(SmallInteger)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
