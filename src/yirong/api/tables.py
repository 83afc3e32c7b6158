"""Idempotency records of the API: one per (caller, Idempotency-Key)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from yirong.infra.base import Base


class ApiRequest(Base):
    """A money-moving request seen under a key: in flight, or done with its response
    stored so that a repeat gets the same answer and moves nothing."""

    __tablename__ = "api_requests"

    caller: Mapped[str] = mapped_column(String(80), primary_key=True)  # agent:A000001
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))  # SHA-256 of method, route, body
    state: Mapped[str] = mapped_column(String(16))  # in_flight | done
    status_code: Mapped[int | None] = mapped_column(Integer)
    response: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
