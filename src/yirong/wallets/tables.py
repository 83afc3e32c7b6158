"""Wallets (支付账户): payment accounts of agents and funders, each backed by one
ledger account; their freezes; and the commission files already applied."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from yirong.infra.base import Base, Id


class Wallet(Base):
    __tablename__ = "wallets"
    __table_args__ = (UniqueConstraint("owner_type", "owner_code"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    owner_type: Mapped[str] = mapped_column(String(16))  # agent | funder
    owner_code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"), unique=True)
    opened_on: Mapped[date] = mapped_column(Date)


class WalletFreeze(Base):
    """One reason a wallet is frozen (debits refused, credits taken). A wallet is
    frozen while any of its freezes is active; each reason is lifted on its own, so
    that settling an overdue loan never lifts a court's order."""

    __tablename__ = "wallet_freezes"
    __table_args__ = (
        Index(
            "uq_wallet_freezes_active",
            "wallet_id",
            "reason",
            unique=True,
            postgresql_where=text("lifted_on IS NULL"),
            sqlite_where=text("lifted_on IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    wallet_id: Mapped[int] = mapped_column(ForeignKey("wallets.id"), index=True)
    reason: Mapped[str] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(String(500))
    frozen_by: Mapped[str] = mapped_column(String(64))
    frozen_on: Mapped[date] = mapped_column(Date)
    lifted_on: Mapped[date | None] = mapped_column(Date)
    lifted_by: Mapped[str | None] = mapped_column(String(64))
    lift_note: Mapped[str | None] = mapped_column(String(500))
    recorded_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.current_timestamp())


class CommissionFile(Base):
    """A carrier's monthly commission file, recorded once (its SHA-256 is the key) and
    credited when the carrier's payment of its total reaches a reserve account.

    state: awaiting_funds -> applied."""

    __tablename__ = "commission_files"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    filename: Mapped[str] = mapped_column(String(255))
    rows: Mapped[int] = mapped_column(Integer)
    total_fen: Mapped[int] = mapped_column(BigInteger)
    business_date: Mapped[date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(16))
    applied_on: Mapped[date | None] = mapped_column(Date)
    recorded_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.current_timestamp())


class CommissionFileRow(Base):
    """One agent's commission for one month, in exactly one file."""

    __tablename__ = "commission_file_rows"

    agent: Mapped[str] = mapped_column(String(64), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("commission_files.id"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
