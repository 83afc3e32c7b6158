"""Each agent's monthly business features, computed in one set-based statement from
the wallet history (commissions in, pre-payments out), never agent by agent.

The months are the twelve full calendar months before the business date's month;
a month's income is the commissions credited to the wallet in it. Ratios are
integers of millionths, computed with integer arithmetic on both databases."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select, text

from yirong.books.service import business_date_of
from yirong.features.tables import AgentFeatures
from yirong.infra.db import Dialect, Tx, transactional
from yirong.pricing.schedule import add_months

MONTHS = 12
COMMISSION = "wallet.commission"
PREPAYMENT = "wallet.carrier_prepayment"


@dataclass(frozen=True, slots=True)
class Features:
    """What a funder sees of an agent before any consent to an application: no name,
    no identifiers, only these (and a token that means nothing outside its funder)."""

    income_3m: int
    income_6m: int
    income_12m: int
    prepay_12m: int
    months_without_income: int
    trend_ppm: int | None
    volatility_ppm: int | None
    tenure_months: int
    overdue_days: int

    @classmethod
    def of(cls, row: AgentFeatures) -> Features:
        return cls(
            row.income_3m,
            row.income_6m,
            row.income_12m,
            row.prepay_12m,
            row.months_without_income,
            row.trend_ppm,
            row.volatility_ppm,
            row.tenure_months,
            row.overdue_days,
        )

    def as_dict(self) -> dict[str, int | None]:
        return {name: getattr(self, name) for name in FEATURE_NAMES}


FEATURE_NAMES = tuple(Features.__dataclass_fields__)


def month_start(day: date) -> date:
    return day.replace(day=1)


def _month_index(dialect: Dialect, column: str) -> str:
    if dialect is Dialect.POSTGRESQL:
        return f"(EXTRACT(YEAR FROM {column})::int * 12 + EXTRACT(MONTH FROM {column})::int)"
    return (
        f"(CAST(strftime('%Y', {column}) AS INTEGER) * 12 "
        f"+ CAST(strftime('%m', {column}) AS INTEGER))"
    )


def _div(dialect: Dialect, a: str, b: str) -> str:
    """Integer division truncating toward zero, the same on both databases (PostgreSQL
    sums bigints into numeric, so plain ``/`` there would keep a fraction)."""
    if dialect is Dialect.POSTGRESQL:
        return f"div({a}, {b})::bigint"
    return f"(({a}) / ({b}))"


def features_sql(dialect: Dialect) -> str:
    month = _month_index(dialect, "e.business_date")
    months = [f"m{k}" for k in range(1, MONTHS + 1)]
    pivot = ",\n    ".join(
        f"SUM(CASE WHEN m = {k} THEN income ELSE 0 END) AS m{k}" for k in range(1, MONTHS + 1)
    )
    recent, earlier = "(m1 + m2 + m3)", "(m4 + m5 + m6)"
    total = " + ".join(months)
    spread = " + ".join(f"ABS(12 * {m} - ({total}))" for m in months)
    trend = _div(dialect, f"({recent} - {earlier}) * 1000000", earlier)
    volatility = _div(dialect, f"({spread}) * 1000000", f"12 * ({total})")
    tenure = _month_index(dialect, "a.carrier_since")
    padded = ", ".join(f"COALESCE(p.{m}, 0) AS {m}" for m in months)
    return f"""
WITH monthly AS (
  SELECT p.account_id, :as_of_index - {month} AS m,
         SUM(CASE WHEN e.code = '{COMMISSION}' THEN p.amount ELSE 0 END) AS income,
         SUM(CASE WHEN e.code = '{PREPAYMENT}' THEN p.amount ELSE 0 END) AS prepay
  FROM ledger_entries e
  JOIN ledger_postings p ON p.entry_id = e.id
  WHERE e.business_date >= :start AND e.business_date < :as_of
    AND e.phase = 'posted' AND e.code IN ('{COMMISSION}', '{PREPAYMENT}')
  GROUP BY p.account_id, 2
), pivot AS (
  SELECT account_id,
    {pivot},
    SUM(prepay) AS prepay_12m,
    SUM(CASE WHEN income > 0 THEN 1 ELSE 0 END) AS months_with_income
  FROM monthly GROUP BY account_id
), agent_months AS (
  SELECT a.id AS agent_id, a.carrier_since, {padded},
         COALESCE(p.prepay_12m, 0) AS prepay_12m,
         COALESCE(p.months_with_income, 0) AS months_with_income
  FROM agents a
  JOIN wallets w ON w.owner_type = 'agent' AND w.owner_code = a.code
  LEFT JOIN pivot p ON p.account_id = w.account_id
)
INSERT INTO agent_features (agent_id, as_of, income_3m, income_6m, income_12m, prepay_12m,
  months_without_income, trend_ppm, volatility_ppm, tenure_months, overdue_days)
SELECT agent_id, :as_of, {recent}, {recent} + {earlier}, {total}, prepay_12m,
  {MONTHS} - months_with_income,
  CASE WHEN {earlier} > 0 THEN {trend} END,
  CASE WHEN ({total}) > 0 THEN {volatility} END,
  :as_of_index - {tenure.replace("a.carrier_since", "carrier_since")},
  0
FROM agent_months a
WHERE true
ON CONFLICT (agent_id, as_of) DO UPDATE SET
  income_3m = excluded.income_3m, income_6m = excluded.income_6m,
  income_12m = excluded.income_12m, prepay_12m = excluded.prepay_12m,
  months_without_income = excluded.months_without_income, trend_ppm = excluded.trend_ppm,
  volatility_ppm = excluded.volatility_ppm, tenure_months = excluded.tenure_months,
  overdue_days = excluded.overdue_days
"""


def compute_in(tx: Tx, business_date: date | None = None) -> date:
    """Compute (or recompute) every agent's features for the business date's month."""
    today = business_date or business_date_of(tx)
    as_of = month_start(today)
    tx.conn.execute(
        text(features_sql(tx.dialect)),
        {
            "as_of": as_of,
            "start": add_months(as_of, -MONTHS),
            "as_of_index": as_of.year * 12 + as_of.month,
        },
    )
    return as_of


compute_features = transactional(compute_in)


def features_of(tx: Tx, agent_id: int, as_of: date) -> Features | None:
    row = tx.session.get(AgentFeatures, (agent_id, as_of))
    return Features.of(row) if row is not None else None


def latest_as_of(tx: Tx) -> date | None:
    return tx.conn.scalar(select(AgentFeatures.as_of).order_by(AgentFeatures.as_of.desc()).limit(1))
