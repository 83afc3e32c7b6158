"""The operator's rules that change over time (the legal APR cap, the consent text
version...): each value has the business date from which it applies."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, DateTime, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from yirong.infra.base import Base, Id


class PolicySetting(Base):
    __tablename__ = "policy_settings"
    __table_args__ = (UniqueConstraint("key", "effective_from"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(64))
    value: Mapped[str] = mapped_column(String(200))
    effective_from: Mapped[date] = mapped_column(Date)
    set_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.current_timestamp())
