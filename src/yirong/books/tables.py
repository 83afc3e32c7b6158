"""The business date (会计日): the books' own calendar, apart from the wall clock."""

from __future__ import annotations

from datetime import date

from sqlalchemy import CheckConstraint, Date, Integer
from sqlalchemy.orm import Mapped, mapped_column

from yirong.infra.base import Base


class BusinessCalendar(Base):
    """One row: the date every movement is booked on until the end of day moves it."""

    __tablename__ = "business_calendar"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, default=1)
    business_date: Mapped[date] = mapped_column(Date)
    opened_on: Mapped[date] = mapped_column(Date)
