"""Each agent's monthly business features from the wallet history (commissions in,
pre-payments out), computed set-based, never agent by agent.

The months are the twelve full calendar months before the business date's month;
a month's income is the commissions credited to the wallet in it. A closed month
never changes, so it is summed from the ledger once (``wallet_months``) and every
later computation reads those twelve rows per wallet. Ratios are integers of
millionths, computed with integer arithmetic on both databases."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select, text
from sqlalchemy.dialects import postgresql, sqlite

from yirong.books.service import business_date_of
from yirong.features.tables import AgentFeatures, SummarisedMonth
from yirong.infra.db import Dialect, Tx, transactional
from yirong.pricing.schedule import add_months

MONTHS = 12
ANALYZE_AFTER_ROWS = 1_000
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
        return f"div({a}, {b})"
    return f"(({a}) / ({b}))"


# A trend beyond a billion-fold says all there is to say (and a month of a few fen before a
# very good one would otherwise overflow even a 64-bit column).
TREND_LIMIT_PPM = 10**15


def _clamp(dialect: Dialect, value: str, limit: int) -> str:
    if dialect is Dialect.POSTGRESQL:
        return f"LEAST(GREATEST({value}, -{limit}), {limit})"
    return f"MIN(MAX({value}, -{limit}), {limit})"


def _month_of(dialect: Dialect, column: str) -> str:
    if dialect is Dialect.POSTGRESQL:
        return f"date_trunc('month', {column})::date"
    return f"date({column}, 'start of month')"


def summary_sql(dialect: Dialect) -> str:
    """Sum closed months of wallet movements into ``wallet_months``: the wallet's side
    of each movement (credited by a commission, debited by a pre-payment)."""
    month = _month_of(dialect, "e.business_date")
    return f"""
INSERT INTO wallet_months (account_id, month, income, prepay)
SELECT p.account_id, {month},
  SUM(CASE WHEN e.code = '{COMMISSION}' THEN p.amount ELSE 0 END),
  SUM(CASE WHEN e.code = '{COMMISSION}' THEN 0 ELSE p.amount END)
FROM ledger_entries e
JOIN ledger_postings p ON p.entry_id = e.id
WHERE e.business_date >= :start AND e.business_date < :end AND e.phase = 'posted'
  AND ((e.code = '{COMMISSION}' AND p.side = 'C') OR (e.code = '{PREPAYMENT}' AND p.side = 'D'))
GROUP BY p.account_id, 2
ON CONFLICT (account_id, month) DO NOTHING
"""


def features_sql(dialect: Dialect) -> str:
    """One statement: each wallet's twelve closed months pivoted into columns, then
    the ratios, for every agent who has none for this month yet (``:m1`` is last
    month, ``:m12`` a year ago). They read only closed months and what the agent
    registered, so once computed they hold for the whole month."""
    months = [f"m{k}" for k in range(1, MONTHS + 1)]
    pivot = ",\n    ".join(
        f"SUM(CASE WHEN month = :m{k} THEN income ELSE 0 END) AS m{k}" for k in range(1, MONTHS + 1)
    )
    recent, earlier = "(m1 + m2 + m3)", "(m4 + m5 + m6)"
    total = " + ".join(months)
    spread = " + ".join(f"ABS(12 * {m} - ({total}))" for m in months)
    with_income = " + ".join(f"CASE WHEN {m} > 0 THEN 1 ELSE 0 END" for m in months)
    trend = _clamp(
        dialect, _div(dialect, f"({recent} - {earlier}) * 1000000", earlier), TREND_LIMIT_PPM
    )
    volatility = _div(dialect, f"({spread}) * 1000000", f"12 * ({total})")
    tenure = _month_index(dialect, "carrier_since")
    padded = ", ".join(f"COALESCE(p.{m}, 0) AS {m}" for m in months)
    return f"""
WITH done AS MATERIALIZED (
  -- read once, before any insert: an anti-join against the table being written
  -- would rescan its growing tail for every row
  SELECT agent_id FROM agent_features WHERE as_of = :as_of
), pivot AS (
  SELECT account_id,
    {pivot},
    SUM(prepay) AS prepay_12m
  FROM wallet_months WHERE month >= :m12 AND month <= :m1
  GROUP BY account_id
), agent_months AS (
  SELECT a.id AS agent_id, a.carrier_since, {padded}, COALESCE(p.prepay_12m, 0) AS prepay_12m
  FROM agents a
  JOIN wallets w ON w.owner_type = 'agent' AND w.owner_code = a.code
  LEFT JOIN pivot p ON p.account_id = w.account_id
)
INSERT INTO agent_features (agent_id, as_of, income_3m, income_6m, income_12m, prepay_12m,
  months_without_income, trend_ppm, volatility_ppm, tenure_months, overdue_days)
SELECT agent_id, :as_of, {recent}, {recent} + {earlier}, {total}, prepay_12m,
  {MONTHS} - ({with_income}),
  CASE WHEN {earlier} > 0 THEN {trend} END,
  CASE WHEN ({total}) > 0 THEN {volatility} END,
  :as_of_index - {tenure},
  0
FROM agent_months
WHERE NOT EXISTS (SELECT 1 FROM done WHERE done.agent_id = agent_months.agent_id)
-- a computation running at the same moment may have written some: keep theirs
ON CONFLICT (agent_id, as_of) DO NOTHING
"""


def summarise_months(tx: Tx, as_of: date) -> list[date]:
    """Make sure the twelve closed months before ``as_of`` are summed; returns the
    months this call summed (none when they all were already)."""
    wanted = [add_months(as_of, -k) for k in range(MONTHS, 0, -1)]
    done = set(
        tx.conn.scalars(
            select(SummarisedMonth.month).where(
                SummarisedMonth.month >= wanted[0], SummarisedMonth.month < as_of
            )
        )
    )
    missing = [m for m in wanted if m not in done]
    if missing:
        if tx.dialect is Dialect.POSTGRESQL:
            # A batch aggregation over months of history: room to hash it in memory.
            tx.conn.execute(text("SET LOCAL work_mem = '64MB'"))
        # One pass over the span of missing months; months already summed in between
        # are left as they are (ON CONFLICT DO NOTHING).
        tx.conn.execute(
            text(summary_sql(tx.dialect)), {"start": missing[0], "end": add_months(missing[-1], 1)}
        )
        marks = [{"month": m} for m in missing]
        dialect_insert = postgresql.insert if tx.dialect is Dialect.POSTGRESQL else sqlite.insert
        tx.conn.execute(dialect_insert(SummarisedMonth).on_conflict_do_nothing(), marks)
        if tx.dialect is Dialect.POSTGRESQL:
            # The features read these rows next, in this transaction: plan that with
            # their statistics, not with an empty table's (a minute against a second).
            tx.conn.execute(text("ANALYZE wallet_months"))
    return missing


def compute_in(tx: Tx, business_date: date | None = None) -> date:
    """Every agent's features for the business date's month (computed once a month,
    and for agents onboarded since)."""
    today = business_date or business_date_of(tx)
    as_of = month_start(today)
    summarise_months(tx, as_of)
    months = {f"m{k}": add_months(as_of, -k) for k in range(1, MONTHS + 1)}
    written = tx.conn.execute(
        text(features_sql(tx.dialect)),
        {"as_of": as_of, "as_of_index": as_of.year * 12 + as_of.month, **months},
    ).rowcount
    if tx.dialect is Dialect.POSTGRESQL and written > ANALYZE_AFTER_ROWS:
        # A month's features just arrived: fresh statistics for pre-approval's joins.
        tx.conn.execute(text("ANALYZE agent_features"))
    return as_of


compute_features = transactional(compute_in)


def features_of(tx: Tx, agent_id: int, as_of: date) -> Features | None:
    row = tx.session.get(AgentFeatures, (agent_id, as_of))
    return Features.of(row) if row is not None else None


def latest_as_of(tx: Tx) -> date | None:
    return tx.conn.scalar(select(AgentFeatures.as_of).order_by(AgentFeatures.as_of.desc()).limit(1))
