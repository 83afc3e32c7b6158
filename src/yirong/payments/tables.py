"""Outbound payment instructions and how the bank answered them."""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Date, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from yirong.infra.base import Base, Id


class Payment(Base):
    """One instruction to the bank. ``hold_entry_id`` is the ledger hold that keeps the
    money from being spent twice (for a withdrawal it is also the withdrawal's id);
    ``reference`` is what our payment file gives the bank and the bank echoes on its
    statement.

    status: instructed -> settled (the bank's debit line) | returned (the bank's
    return line, after a debit) | failed (the bank refused it before paying)."""

    __tablename__ = "payments"
    __table_args__ = (Index("ix_payments_status", "status", "instructed_on"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    reference: Mapped[str] = mapped_column(String(24), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # withdrawal | payout | return
    hold_entry_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    source: Mapped[str] = mapped_column(String(80))  # the ledger account the money leaves
    bank_account: Mapped[str] = mapped_column(String(80))  # the reserve account's ledger code
    amount: Mapped[int] = mapped_column(BigInteger)
    payee_name: Mapped[str | None] = mapped_column(String(200))
    payee_account: Mapped[str | None] = mapped_column(String(40))
    payee_bank: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16))
    instructed_on: Mapped[date] = mapped_column(Date)
    settled_on: Mapped[date | None] = mapped_column(Date)
    returned_on: Mapped[date | None] = mapped_column(Date)
    bank_line_id: Mapped[int | None] = mapped_column(BigInteger)  # the debit that settled it
    return_line_id: Mapped[int | None] = mapped_column(BigInteger)
    note: Mapped[str | None] = mapped_column(String(200))
    batch_ref: Mapped[str | None] = mapped_column(String(24), index=True)  # the file it left in


class PaymentBatch(Base):
    """A bank batch file of payments (代付批量文件, ``payments.batch``), kept as sent."""

    __tablename__ = "payment_batches"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    reference: Mapped[str] = mapped_column(String(24), unique=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    bank_account: Mapped[str] = mapped_column(String(80))  # the ledger code it pays from
    payments: Mapped[int] = mapped_column(Integer)
    total: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
