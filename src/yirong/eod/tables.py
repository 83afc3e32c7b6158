"""The end of day's own record: each step of each business date, written in the same
transaction as the step's work, so a rerun after a crash skips exactly what is done."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from yirong.infra.base import Base


class EodStep(Base):
    __tablename__ = "eod_steps"

    business_date: Mapped[date] = mapped_column(Date, primary_key=True)
    step: Mapped[str] = mapped_column(String(32), primary_key=True)
    detail: Mapped[str] = mapped_column(Text)  # JSON: what the step did
