"""Monthly business features of each agent, derived from its wallet history: the
data funders lend on (流水贷). Amounts in fen; ratios in millionths (ppm)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Date, Index, Integer, SmallInteger
from sqlalchemy.orm import Mapped, mapped_column

from yirong.infra.base import Base


class AgentFeatures(Base):
    """Derived once a month for every agent, set-based from a join with ``agents``
    (so no foreign key: its per-row check was a fifth of the computation)."""

    __tablename__ = "agent_features"
    # A month's features in agent order (the post-loan watch list, a page at a time).
    __table_args__ = (Index("ix_agent_features_as_of_agent", "as_of", "agent_id"),)

    agent_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    as_of: Mapped[date] = mapped_column(Date, primary_key=True)  # first day of the month computed
    income_3m: Mapped[int] = mapped_column(BigInteger)  # commissions, last 3 full months
    income_6m: Mapped[int] = mapped_column(BigInteger)
    income_12m: Mapped[int] = mapped_column(BigInteger)
    prepay_12m: Mapped[int] = mapped_column(BigInteger)  # pre-payments to the carrier
    months_without_income: Mapped[int] = mapped_column(SmallInteger)  # of the last 12
    # Last 3 months against the 3 before, in ppm: +250_000 is a 25% rise.
    trend_ppm: Mapped[int | None] = mapped_column(BigInteger)
    # Mean absolute deviation of the 12 monthly incomes over their mean, in ppm.
    volatility_ppm: Mapped[int | None] = mapped_column(Integer)
    tenure_months: Mapped[int] = mapped_column(SmallInteger)
    overdue_days: Mapped[int] = mapped_column(Integer)
