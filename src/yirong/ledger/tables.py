"""The ledger's tables. Accounts, entries and postings are append-only (triggers
refuse UPDATE and DELETE); only balance rows change, in the same transaction as the
postings that explain them."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from yirong.infra.base import Base, Id


class LedgerBook(Base):
    """A set of accounts whose debits must equal their credits: the platform's own
    books, or a funder's memo book of the loans it owns."""

    __tablename__ = "ledger_books"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))  # platform | memo
    currency: Mapped[str] = mapped_column(String(3))


class LedgerAccount(Base):
    __tablename__ = "ledger_accounts"
    __table_args__ = (
        CheckConstraint("shards >= 1 AND shards <= 256", name="shards_range"),
        CheckConstraint(
            "shards = 1 OR NOT (debits_must_not_exceed_credits OR credits_must_not_exceed_debits)",
            name="hot_accounts_have_no_limits",
        ),
        CheckConstraint(
            "NOT (debits_must_not_exceed_credits AND credits_must_not_exceed_debits)",
            name="one_limit_flag",
        ),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(128), unique=True)
    book: Mapped[str] = mapped_column(ForeignKey("ledger_books.code"))
    currency: Mapped[str] = mapped_column(String(3))
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    owner_type: Mapped[str | None] = mapped_column(String(32))
    owner_ref: Mapped[str | None] = mapped_column(String(64))
    shards: Mapped[int] = mapped_column(SmallInteger, default=1)
    debits_must_not_exceed_credits: Mapped[bool] = mapped_column(Boolean, default=False)
    credits_must_not_exceed_debits: Mapped[bool] = mapped_column(Boolean, default=False)
    opened_on: Mapped[date] = mapped_column(Date)


class LedgerBalance(Base):
    """The cached balance of an account, or of one shard of a hot account. The limit
    flags are copied here (they never change) so the database itself refuses an
    overdraft, whatever the code above it does."""

    __tablename__ = "ledger_balances"
    __table_args__ = (
        CheckConstraint(
            "debits_pending >= 0 AND debits_posted >= 0 AND credits_pending >= 0 "
            "AND credits_posted >= 0",
            name="non_negative",
        ),
        CheckConstraint(
            "NOT debits_must_not_exceed_credits "
            "OR debits_pending + debits_posted <= credits_posted",
            name="debits_within_credits",
        ),
        CheckConstraint(
            "NOT credits_must_not_exceed_debits "
            "OR credits_pending + credits_posted <= debits_posted",
            name="credits_within_debits",
        ),
        CheckConstraint(
            "state IN ('active', 'debit_blocked', 'blocked', 'closed')", name="known_state"
        ),
        # On SQLite, stored in primary-key order: one b-tree to touch, not two.
        {"sqlite_with_rowid": False},
    )

    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"), primary_key=True)
    shard: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    state: Mapped[str] = mapped_column(String(16), default="active")
    debits_pending: Mapped[int] = mapped_column(BigInteger, default=0)
    debits_posted: Mapped[int] = mapped_column(BigInteger, default=0)
    credits_pending: Mapped[int] = mapped_column(BigInteger, default=0)
    credits_posted: Mapped[int] = mapped_column(BigInteger, default=0)
    debits_must_not_exceed_credits: Mapped[bool] = mapped_column(Boolean, default=False)
    credits_must_not_exceed_debits: Mapped[bool] = mapped_column(Boolean, default=False)


class LedgerStateChange(Base):
    """Why an account was frozen, blocked, reopened or closed, and on which day."""

    __tablename__ = "ledger_state_changes"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"), index=True)
    from_state: Mapped[str] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(500))
    business_date: Mapped[date] = mapped_column(Date)
    recorded_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.current_timestamp())


class LedgerEntry(Base):
    """A journal entry, a hold, a hold's resolution, or a refused request (kept so
    that the same key gets the same answer). Postings hang off it."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        CheckConstraint(
            "phase IN ('posted', 'pending', 'voided', 'expired', 'rejected')", name="known_phase"
        ),
        CheckConstraint("(phase = 'rejected') = (rejection IS NOT NULL)", name="rejection_reason"),
        # A hold resolves once; an entry is reversed once. The indexes enforce it even
        # when two requests race.
        Index(
            "uq_ledger_entries_pending_id",
            "pending_id",
            unique=True,
            postgresql_where=text("pending_id IS NOT NULL"),
            sqlite_where=text("pending_id IS NOT NULL"),
        ),
        Index(
            "uq_ledger_entries_reverses_id",
            "reverses_id",
            unique=True,
            postgresql_where=text("reverses_id IS NOT NULL"),
            sqlite_where=text("reverses_id IS NOT NULL"),
        ),
        Index(
            "ix_ledger_entries_expiring",
            "expires_on",
            postgresql_where=text("phase = 'pending' AND expires_on IS NOT NULL"),
            sqlite_where=text("phase = 'pending' AND expires_on IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    fingerprint: Mapped[bytes] = mapped_column(LargeBinary(16))
    book: Mapped[str | None] = mapped_column(String(64))
    code: Mapped[str] = mapped_column(String(64))
    phase: Mapped[str] = mapped_column(String(16))
    business_date: Mapped[date] = mapped_column(Date)
    pending_id: Mapped[int | None] = mapped_column(BigInteger)
    reverses_id: Mapped[int | None] = mapped_column(BigInteger)
    expires_on: Mapped[date | None] = mapped_column(Date)
    debit_block_exempt: Mapped[bool] = mapped_column(Boolean, default=False)
    rejection: Mapped[str | None] = mapped_column(String(64))
    memo: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.current_timestamp())


class LedgerPosting(Base):
    """One debit or credit of an entry on one balance row.

    No foreign keys: on PostgreSQL a key to ``ledger_accounts`` makes every insert
    take a share lock on the account row (on the reserve account, the very hot spot
    sharding exists to avoid), and a key to ``ledger_entries`` costs a lookup per
    posting for a row written by the same statement. The ledger's store is the only
    writer, and ``yirong ledger verify`` proves both references."""

    __tablename__ = "ledger_postings"
    __table_args__ = (
        CheckConstraint("amount > 0", name="positive_amount"),
        CheckConstraint("side IN ('D', 'C')", name="known_side"),
        Index("ix_ledger_postings_account", "account_id", "entry_id"),
        {"sqlite_with_rowid": False},
    )

    entry_id: Mapped[int] = mapped_column(Id, primary_key=True)
    leg: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(BigInteger)
    shard: Mapped[int] = mapped_column(SmallInteger)
    side: Mapped[str] = mapped_column(String(1))
    amount: Mapped[int] = mapped_column(BigInteger)
