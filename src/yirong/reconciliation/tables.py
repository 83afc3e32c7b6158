"""Bank statements as received (the raw file, kept with its hash), their lines, the
notices people send, the matching rules, and the exception queue with every action
taken on it."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from yirong.infra.base import Base, Id


class StatementFile(Base):
    """A file as the bank (or an operator) gave it: stored whole, so that any import
    can be shown again, and known by its SHA-256 so that it is imported once.

    state: importing (lines are being taken, chunk by chunk; a rerun resumes) ->
    imported."""

    __tablename__ = "statement_files"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    filename: Mapped[str] = mapped_column(String(255))
    format: Mapped[str] = mapped_column(String(16))
    size: Mapped[int] = mapped_column(BigInteger)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    state: Mapped[str] = mapped_column(String(16))
    statements: Mapped[int] = mapped_column(Integer)
    lines: Mapped[int] = mapped_column(Integer)  # lines in the file
    # What the import did, kept when it finished so that it can be shown again as it was.
    new_lines: Mapped[int | None] = mapped_column(Integer)
    duplicate_lines: Mapped[int | None] = mapped_column(Integer)
    matched_lines: Mapped[int | None] = mapped_column(Integer)
    partial_lines: Mapped[int | None] = mapped_column(Integer)
    exception_lines: Mapped[int | None] = mapped_column(Integer)
    received_on: Mapped[date] = mapped_column(Date)  # business date
    received_by: Mapped[str] = mapped_column(String(80))
    recorded_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.current_timestamp())


class Statement(Base):
    """One statement of one bank account in a file (a camt.053 file may hold several)."""

    __tablename__ = "statements"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("statement_files.id"), index=True)
    bank_account_id: Mapped[int] = mapped_column(ForeignKey("bank_accounts.id"))
    bank_statement_id: Mapped[str] = mapped_column(String(80))  # the bank's own id
    from_date: Mapped[date] = mapped_column(Date)
    to_date: Mapped[date] = mapped_column(Date)
    opening_balance: Mapped[int] = mapped_column(BigInteger)
    closing_balance: Mapped[int] = mapped_column(BigInteger)
    credits: Mapped[int] = mapped_column(BigInteger)
    debits: Mapped[int] = mapped_column(BigInteger)
    lines: Mapped[int] = mapped_column(Integer)


class BankLine(Base):
    """One line of a bank account's statement: money that really moved. Unique by its
    identity within its account (the bank's serial, or composed from its fields), so
    that a line given again in another file is recognised and never booked twice.

    status: matched (its money was posted where it belongs) | partial (part of an
    order paid in several lines, waiting for the rest, held in suspense) | exception."""

    __tablename__ = "bank_lines"
    __table_args__ = (
        UniqueConstraint("bank_account_id", "identity"),
        Index("ix_bank_lines_status", "status"),
        Index("ix_bank_lines_target", "target_ref"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    bank_account_id: Mapped[int] = mapped_column(ForeignKey("bank_accounts.id"))
    identity: Mapped[str] = mapped_column(String(80))
    file_id: Mapped[int] = mapped_column(ForeignKey("statement_files.id"), index=True)
    statement_id: Mapped[int] = mapped_column(BigInteger)
    booking_date: Mapped[date] = mapped_column(Date)
    value_date: Mapped[date] = mapped_column(Date)
    direction: Mapped[str] = mapped_column(String(1))  # C: into the account, D: out
    amount: Mapped[int] = mapped_column(BigInteger)
    counterparty_name: Mapped[str] = mapped_column(String(200))
    counterparty_account: Mapped[str] = mapped_column(String(40))
    counterparty_bank: Mapped[str] = mapped_column(String(100))
    memo: Mapped[str] = mapped_column(String(500))
    bank_serial: Mapped[str] = mapped_column(String(80))
    end_to_end_ref: Mapped[str] = mapped_column(String(80))
    virtual_account: Mapped[str] = mapped_column(String(40))
    balance_after: Mapped[int | None] = mapped_column(BigInteger)
    booked_at: Mapped[str | None] = mapped_column(String(8))  # HH:MM:SS as the bank printed
    reversal: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(16))
    # While the line's money is held in suspense (an exception, or part of an order):
    # the entry that booked it there; each booking and release has its own key.
    suspense_entry_id: Mapped[int | None] = mapped_column(BigInteger)
    suspense_moves: Mapped[int] = mapped_column(Integer, default=0)
    target: Mapped[str | None] = mapped_column(String(16))  # order | wallet | commission | payment
    target_ref: Mapped[str | None] = mapped_column(String(200))
    matched_by: Mapped[str | None] = mapped_column(String(120))  # rule:<name> | operator:<user>
    matched_on: Mapped[date | None] = mapped_column(Date)


class Notice(Base):
    """What someone says about money (information flow): a funder's "we paid order X",
    an operator's "agent A topped up", "the bank paid withdrawal W". A notice moves
    nothing; a bank line does. Matched when the line it speaks of is.

    status: open -> matched | proposed (a line fits it; an operator confirms) |
    unfunded (an exception after the wait) | dismissed."""

    __tablename__ = "notices"
    __table_args__ = (
        UniqueConstraint("recorded_by", "request_key"),
        Index("ix_notices_open", "status", "kind"),
        # A funder's bank reference names one transfer: on one funding notice only.
        Index(
            "uq_notices_funding_ref",
            "party",
            "their_ref",
            unique=True,
            postgresql_where=text("kind = 'funding' AND their_ref <> ''"),
            sqlite_where=text("kind = 'funding' AND their_ref <> ''"),
        ),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))  # funding | top_up | payment
    party: Mapped[str] = mapped_column(String(80))  # whose money: funder:F01, agent:A001
    recorded_by: Mapped[str] = mapped_column(String(80))  # who said it: funder:F01 | operator:ops
    request_key: Mapped[str] = mapped_column(String(128))
    target: Mapped[str] = mapped_column(String(80), index=True)  # order ref | wallet | payment ref
    amount: Mapped[int] = mapped_column(BigInteger)
    their_ref: Mapped[str] = mapped_column(String(80))  # the bank reference they quote
    value_date: Mapped[date] = mapped_column(Date)
    said_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))
    line_id: Mapped[int | None] = mapped_column(BigInteger)
    closed_on: Mapped[date | None] = mapped_column(Date)


class MatchRule(Base):
    """A matching rule's settings (see ``reconciliation.model.DEFAULT_RULES``): the
    operator turns rules on and off, lets them post at once or only propose, and sets
    their amount and date tolerances."""

    __tablename__ = "match_rules"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean)
    auto: Mapped[bool] = mapped_column(Boolean)
    amount_tolerance_fen: Mapped[int] = mapped_column(BigInteger)
    days_before: Mapped[int] = mapped_column(Integer)
    days_after: Mapped[int] = mapped_column(Integer)


class ReconException(Base):
    """One line or notice that did not match: typed, dated, owned, acted on.

    status: open -> resolved (matched by hand, returned to its sender, or dismissed
    with a reason; or matched by itself when the missing side arrived)."""

    __tablename__ = "recon_exceptions"
    __table_args__ = (
        Index("ix_recon_exceptions_open", "status", "id"),
        Index(
            "uq_recon_exceptions_open_line",
            "line_id",
            unique=True,
            postgresql_where=text("status = 'open'"),
            sqlite_where=text("status = 'open'"),
        ),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(24))
    line_id: Mapped[int | None] = mapped_column(BigInteger)
    notice_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    payment_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    direction: Mapped[str] = mapped_column(String(1))
    amount: Mapped[int] = mapped_column(BigInteger)
    detail: Mapped[str] = mapped_column(String(300))
    proposal: Mapped[str | None] = mapped_column(String(120))  # <target>:<ref>, to confirm
    opened_on: Mapped[date] = mapped_column(Date)
    owner: Mapped[str] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(16))
    resolution: Mapped[str | None] = mapped_column(String(16))
    resolved_on: Mapped[date | None] = mapped_column(Date)
    resolved_by: Mapped[str | None] = mapped_column(String(80))


class ReconAction(Base):
    """Every action on an exception, by whom and when (append-only in the database)."""

    __tablename__ = "recon_actions"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    exception_id: Mapped[int] = mapped_column(BigInteger, index=True)
    action: Mapped[str] = mapped_column(String(24))
    actor: Mapped[str] = mapped_column(String(80))
    business_date: Mapped[date] = mapped_column(Date)
    detail: Mapped[str] = mapped_column(Text)  # JSON
    recorded_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.current_timestamp())


class ReconApproval(Base):
    """A match or return above the operator's threshold waits for a second operator
    (maker-checker): the maker asks, another operator approves or refuses.

    status: pending -> approved | refused."""

    __tablename__ = "recon_approvals"
    __table_args__ = (
        Index(
            "uq_recon_approvals_pending",
            "exception_id",
            unique=True,
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    exception_id: Mapped[int] = mapped_column(BigInteger)
    action: Mapped[str] = mapped_column(String(16))  # match | return
    target: Mapped[str | None] = mapped_column(String(120))
    amount: Mapped[int] = mapped_column(BigInteger)
    maker: Mapped[str] = mapped_column(String(80))
    made_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))
    checker: Mapped[str | None] = mapped_column(String(80))
    decided_on: Mapped[date | None] = mapped_column(Date)


class ReconDay(Base):
    """One run of a day's reconciliation of one bank account, kept as it was found
    (see ``reconciliation.daily_model``). Running the day again keeps a new version
    only when something changed; the latest version is the day's standing."""

    __tablename__ = "recon_days"
    __table_args__ = (
        UniqueConstraint("day", "bank_account_id", "version"),
        Index("ix_recon_days_unclean", "clean", "day"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    day: Mapped[date] = mapped_column(Date)
    bank_account_id: Mapped[int] = mapped_column(ForeignKey("bank_accounts.id"))
    version: Mapped[int] = mapped_column(Integer)
    latest: Mapped[bool] = mapped_column(Boolean)
    clean: Mapped[bool] = mapped_column(Boolean)
    bank_opening: Mapped[int | None] = mapped_column(BigInteger)
    bank_credits: Mapped[int | None] = mapped_column(BigInteger)
    bank_debits: Mapped[int | None] = mapped_column(BigInteger)
    bank_closing: Mapped[int | None] = mapped_column(BigInteger)
    statements: Mapped[str] = mapped_column(String(400))  # the bank's statement ids read
    books: Mapped[int] = mapped_column(BigInteger)
    difference: Mapped[int] = mapped_column(BigInteger)
    explained: Mapped[int] = mapped_column(BigInteger)
    open_items: Mapped[int] = mapped_column(Integer)
    fingerprint: Mapped[str] = mapped_column(String(64))
    run_on: Mapped[date] = mapped_column(Date)  # the business date it ran on
    run_by: Mapped[str] = mapped_column(String(80))
    # An unclean day an operator has looked into and signed off, saying why.
    acknowledged_by: Mapped[str | None] = mapped_column(String(80))
    acknowledged_on: Mapped[date | None] = mapped_column(Date)
    acknowledged_note: Mapped[str | None] = mapped_column(String(300))
    recorded_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.current_timestamp())


class ReconDayItem(Base):
    """One item of a day's reconciliation: what it is about and by how much it makes
    the bank's balance differ from the books'."""

    __tablename__ = "recon_day_items"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    recon_day_id: Mapped[int] = mapped_column(ForeignKey("recon_days.id"), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    ref: Mapped[str] = mapped_column(String(80))
    effect: Mapped[int] = mapped_column(BigInteger)
    since: Mapped[date | None] = mapped_column(Date)
    detail: Mapped[str] = mapped_column(String(300))


class FunderFileRecord(Base):
    """A daily file we produced for a funder (``reconciliation.funder_layout``), kept
    as written (gzip) so that it can be downloaded, and compared, any day after."""

    __tablename__ = "funder_files"
    __table_args__ = (UniqueConstraint("funder_id", "day", "kind"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    funder_id: Mapped[int] = mapped_column(ForeignKey("funders.id"))
    day: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(120))
    rows: Mapped[int] = mapped_column(Integer)
    totals: Mapped[str] = mapped_column(String(200))  # the control record's totals, "|"-joined
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)  # gzip of the file
    made_on: Mapped[date] = mapped_column(Date)


class FunderFileCheck(Base):
    """A funder's own file for a day, compared with ours: clean, or its differences."""

    __tablename__ = "funder_file_checks"
    __table_args__ = (Index("ix_funder_file_checks_day", "funder_id", "day", "kind"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    funder_id: Mapped[int] = mapped_column(ForeignKey("funders.id"))
    day: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(16))
    sha256: Mapped[str] = mapped_column(String(64))  # of their file
    clean: Mapped[bool] = mapped_column(Boolean)
    differences: Mapped[int] = mapped_column(Integer)
    checked_on: Mapped[date] = mapped_column(Date)
    checked_by: Mapped[str] = mapped_column(String(80))


class FunderFileDifference(Base):
    __tablename__ = "funder_file_differences"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    check_id: Mapped[int] = mapped_column(ForeignKey("funder_file_checks.id"), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    key: Mapped[str] = mapped_column(String(120))
    field: Mapped[str] = mapped_column(String(40))
    ours: Mapped[str] = mapped_column(String(80))
    theirs: Mapped[str] = mapped_column(String(80))
