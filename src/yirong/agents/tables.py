"""Agents (代理商): the firms that borrow. Their identity is personal data (PIPL):
masked whenever shown to someone who may not see it, and never logged."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, DateTime, SmallInteger, String, func
from sqlalchemy.orm import Mapped, mapped_column

from yirong.infra.base import Base, Id


class Agent(Base):
    __tablename__ = "agents"
    __table_args__ = (CheckConstraint("wallet_class BETWEEN 1 AND 3", name="wallet_class"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)  # the carrier's agent number
    name: Mapped[str] = mapped_column(String(100))
    uscc: Mapped[str] = mapped_column(String(18), unique=True)  # 统一社会信用代码
    legal_rep_name: Mapped[str] = mapped_column(String(100))
    legal_rep_id: Mapped[str] = mapped_column(String(18))  # 居民身份证号
    mobile: Mapped[str] = mapped_column(String(20))  # E.164
    bank_card: Mapped[str] = mapped_column(String(19))  # settlement card
    bank_name: Mapped[str] = mapped_column(String(100))
    # Payment-account class (〔2015〕43号): II or III is needed before a drawdown.
    wallet_class: Mapped[int] = mapped_column(SmallInteger)
    carrier_since: Mapped[date] = mapped_column(Date)  # when the agent began with the carrier
    onboarded_on: Mapped[date] = mapped_column(Date)
    recorded_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.current_timestamp())
