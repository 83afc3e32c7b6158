"""Sign-ins (people with a password), their session tokens, systems' API keys
(funders' and suppliers'), sign-in counters (for throttling), the nonces of signed
requests and the audit log. Secrets are stored only as hashes: passwords with
Argon2id, tokens and keys (long random strings) with SHA-256."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from yirong.infra.base import Base, Id


class User(Base):
    """A person who signs in: an agent's staff, a funder's staff or an operator."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))  # agent | funder | operator (no supplier)
    subject: Mapped[str] = mapped_column(String(64))  # agent code, funder code or operator name
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SessionToken(Base):
    """A bearer token handed out at sign-in; expires, and ends at sign-out."""

    __tablename__ = "session_tokens"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ApiKey(Base):
    """A system's credential: a funder's, or a supplier's (its only one). Shown once
    when issued; rotating issues a new key and gives the old one a short overlap so
    the system can switch without downtime."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    prefix: Mapped[str] = mapped_column(String(16), unique=True)  # shown in lists, not secret
    secret_hash: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))  # funder | supplier (people sign in)
    subject: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    replaced_by: Mapped[int | None] = mapped_column(Integer)


class LoginCounter(Base):
    """Sign-in attempts not yet followed by a success, for one account (``user:<name>``
    as typed) or one client address (``client:<address>``). Counted before the
    password is checked, so concurrent guesses cannot slip past it; once past the free
    attempts, the next is allowed only from ``next_allowed_at``. Kept while recent
    (holds a username as typed or an address, never a password)."""

    __tablename__ = "login_counters"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    attempts: Mapped[int] = mapped_column(Integer)
    last_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    next_allowed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class RequestNonce(Base):
    """A nonce a signed request used, kept until its timestamp can no longer be
    accepted: a second request with it is a replay."""

    __tablename__ = "request_nonces"

    credential: Mapped[str] = mapped_column(String(40), primary_key=True)  # api_key:12
    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class AuditRecord(Base):
    """One operator action (or a funder's request that an operator acts on), append-only
    in the database itself."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_actor_id", "actor", "id"),  # one actor's, newest first
        Index("ix_audit_log_at", "at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(80))  # operator:ops1
    action: Mapped[str] = mapped_column(String(120))  # POST /api/v1/wallets/{handle}/freezes
    target: Mapped[str] = mapped_column(String(300))  # the path as asked
    status: Mapped[int] = mapped_column(Integer)
    request_id: Mapped[str] = mapped_column(String(64))
    username: Mapped[str | None] = mapped_column(String(64))  # who signed in
    credential: Mapped[str] = mapped_column(String(40), default="")  # session:12
    detail: Mapped[str | None] = mapped_column(String(300))  # e.g. the sign-in created
