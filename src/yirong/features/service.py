"""Each agent's monthly business features from the wallet history (commissions in,
pre-payments out), computed set-based, never agent by agent.

The months are the twelve full calendar months before the business date's month;
a month's income is the commissions credited to the wallet in it. Features read
only closed months, so they are computed once a month (and for agents onboarded
since), in one read of the ledger. Ratios are integers of millionths, computed with
integer arithmetic on both databases."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from yirong.books.service import business_date_of
from yirong.features.tables import AgentFeatures
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


# Agents (with their wallet) who have no features for ``:as_of`` yet.
WANTED = """
SELECT a.id AS agent_id, a.carrier_since, w.account_id
FROM agents a
JOIN wallets w ON w.owner_type = 'agent' AND w.owner_code = a.code
WHERE NOT EXISTS (SELECT 1 FROM agent_features f WHERE f.agent_id = a.id AND f.as_of = :as_of)
"""

# Up to this many agents wanting features, their wallets' postings are found through
# the account index; beyond it, one pass over the year's entries is cheaper.
FEW_AGENTS = 2_000


def features_sql(dialect: Dialect, *, few: bool) -> str:
    """One read of the ledger: the wallet side of every commission (credit) and
    pre-payment (debit) in the twelve full months before ``:as_of`` (``:m1`` is last
    month's first day, ``:m12`` a year before it), pivoted into twelve monthly incomes
    per wallet, then the ratios, for the agents in ``wanted_now``.

    It is a plain SELECT, written into a temporary table, because PostgreSQL runs
    ``CREATE TABLE AS`` with parallel workers and ``INSERT ... SELECT`` without. The
    pivot groups by wallet only (twelve filtered sums), so its hash stays small; with
    many agents wanted it reads every wallet's movements without consulting the
    wanted set, so no estimate of that set can steer the big join wrong.

    Each movement's month is worked out once, not once per filtered sum: on SQLite
    the movements are materialized with their month (``k``), which also lets it read
    the entries in their stored order instead of through the account index; on
    PostgreSQL, which must not materialize them (that would end the parallel scan),
    each month's sum filters on the entry's date directly (two comparisons, where
    the month's ``CASE`` took up to eleven, thirteen times a row). The sums of months
    are worked out once per agent (``sums`` is materialized): inlined, each of the
    ratios' many uses of the year's total added the twelve months up again."""
    pg = dialect is Dialect.POSTGRESQL
    months = [f"m{k}" for k in range(1, MONTHS + 1)]
    # PostgreSQL sums bigints into numeric; the sums fit a bigint (so do the ledger's
    # own balances), and bigint arithmetic is several times faster. Only the ratios,
    # scaled by a million, are computed in numeric there.
    as_int = "::bigint" if pg else ""
    exact = "::numeric" if pg else ""
    source = (
        "wanted_now x JOIN ledger_postings p ON p.account_id = x.account_id "
        "JOIN ledger_entries e ON e.id = p.entry_id"
        if few
        else "ledger_entries e JOIN ledger_postings p ON p.entry_id = e.id"
    )
    if pg:
        # The wallet's leg as a join filter, not a hash key: as a key on an expression
        # its estimate was a hundred times too low, and the plan went to sorts. A CASE,
        # not an OR, from which the planner would derive a filter on every posting.
        moves = f"""moves AS (
  SELECT p.account_id, p.amount, p.side, e.business_date AS day
  FROM {source}
  WHERE e.business_date >= :m12 AND e.business_date < :as_of AND e.phase = 'posted'
    AND e.code IN ('{COMMISSION}', '{PREPAYMENT}')
    AND CASE WHEN e.code = '{COMMISSION}' THEN p.side = 'C' ELSE p.side = 'D' END
)"""

        def month(k: int) -> str:
            # the dates first: they settle most rows in one or two comparisons
            before = f" AND day < :m{k - 1}" if k > 1 else ""
            return f"day >= :m{k}{before} AND side = 'C'"

        prepaid = "side = 'D'"
    else:
        month_of = " ".join(f"WHEN e.business_date >= :m{k} THEN {k}" for k in range(1, MONTHS))
        moves = f"""moves AS MATERIALIZED (
  -- the wallet's side of each movement, and its month (1: last month; 0: a pre-payment)
  SELECT p.account_id, p.amount,
    CASE WHEN p.side = 'D' THEN 0 {month_of} ELSE {MONTHS} END AS k
  FROM {source}
    AND p.side = CASE WHEN e.code = '{COMMISSION}' THEN 'C' ELSE 'D' END
  WHERE e.business_date >= :m12 AND e.business_date < :as_of AND e.phase = 'posted'
    AND e.code IN ('{COMMISSION}', '{PREPAYMENT}')
)"""

        def month(k: int) -> str:
            return f"k = {k}"

        prepaid = "k = 0"
    pivot = ",\n    ".join(
        f"SUM(amount) FILTER (WHERE {month(k)}){as_int} AS {m}" for k, m in enumerate(months, 1)
    )
    padded = ", ".join(f"COALESCE(p.{c}, 0) AS {c}" for c in (*months, "prepay_12m"))
    recent = " + ".join(months[:3])
    earlier = " + ".join(months[3:6])
    total = " + ".join(months)
    spread = " + ".join(f"ABS(12 * {m} - total)" for m in months)
    with_income = " + ".join(f"CASE WHEN {m} > 0 THEN 1 ELSE 0 END" for m in months)
    trend = _clamp(
        dialect,
        _div(dialect, f"(recent - earlier){exact} * 1000000", "earlier"),
        TREND_LIMIT_PPM,
    )
    volatility = _div(dialect, f"({spread}){exact} * 1000000", "12 * total")
    tenure = _month_index(dialect, "carrier_since")
    return f"""
WITH {moves}, pivot AS (
  SELECT account_id,
    {pivot},
    SUM(amount) FILTER (WHERE {prepaid}){as_int} AS prepay_12m
  FROM moves GROUP BY account_id
), agent_months AS (
  SELECT x.agent_id, x.carrier_since, {padded}
  FROM wanted_now x
  LEFT JOIN pivot p ON p.account_id = x.account_id
), sums AS MATERIALIZED (
  SELECT a.*, {recent} AS recent, {earlier} AS earlier, {total} AS total FROM agent_months a
)
SELECT agent_id, recent AS income_3m, recent + earlier AS income_6m,
  total AS income_12m, prepay_12m,
  {MONTHS} - ({with_income}) AS months_without_income,
  CASE WHEN earlier > 0 THEN {trend} END AS trend_ppm,
  CASE WHEN total > 0 THEN {volatility} END AS volatility_ppm,
  :as_of_index - {tenure} AS tenure_months
FROM sums
"""


FEATURE_COLUMNS = (
    "income_3m, income_6m, income_12m, prepay_12m, months_without_income, trend_ppm, "
    "volatility_ppm, tenure_months"
)


def insert_unless_raced(tx: Tx, insert: str, on_conflict: str, params: Mapping[str, object]) -> int:
    """Run ``insert`` (an ``INSERT ... SELECT ... WHERE ...`` of rows it checked are not
    there yet) and return how many rows it wrote. Only a transaction writing the same
    keys at the same moment can make it fail on a unique key: then it runs again with
    ``on_conflict`` (``ON CONFLICT ... DO NOTHING``), keeping the other's rows.

    A plain insert, not ``ON CONFLICT`` every time: PostgreSQL's speculative insertion
    (look the key up, insert, confirm) cost 0.2 s per 100,000 rows more (BENCHMARKS.md).
    The ``WHERE`` clause settles SQLite's parse of ``INSERT ... SELECT ... ON CONFLICT``."""
    run = tx.conn.execute
    run(text("SAVEPOINT insert_unless_raced"))
    try:
        written = run(text(insert), params).rowcount
    except IntegrityError:
        run(text("ROLLBACK TO SAVEPOINT insert_unless_raced"))
        written = run(text(f"{insert} {on_conflict}"), params).rowcount
    run(text("RELEASE SAVEPOINT insert_unless_raced"))
    return written


def compute_in(tx: Tx, business_date: date | None = None) -> date:
    """Features for the business date's month for every agent that has none yet (all
    of them at a month's first run; those onboarded since, later). Returns the month
    (its first day)."""
    today = business_date or business_date_of(tx)
    as_of = month_start(today)
    months = {f"m{k}": add_months(as_of, -k) for k in range(1, MONTHS + 1)}
    params: dict[str, object] = {"as_of": as_of, "as_of_index": as_of.year * 12 + as_of.month}
    pg = tx.dialect is Dialect.POSTGRESQL
    drop = " ON COMMIT DROP" if pg else ""
    run = tx.conn.execute
    wanted = run(text(f"CREATE TEMPORARY TABLE wanted_now{drop} AS {WANTED}"), params).rowcount
    if wanted < 0:
        # SQLite gives no count for CREATE TABLE AS (-1, which chose the path for a few
        # agents every time, and left the full pass untested there).
        wanted = run(text("SELECT COUNT(*) FROM wanted_now")).scalar_one()
    if wanted:
        # Its true size, for the joins that read it (without it, SQLite read every
        # entry for a few agents: 1.6 s for ten, where 2 ms do).
        run(text("ANALYZE wanted_now"))
        if pg:
            # A year of history aggregated at once: room to hash it in memory, and no
            # JIT (compiling the pivot's many expressions took longer than running them).
            run(text("SET LOCAL work_mem = '64MB'"))
            run(text("SET LOCAL jit = off"))
        sql = features_sql(tx.dialect, few=wanted <= FEW_AGENTS)
        run(text(f"CREATE TEMPORARY TABLE features_now{drop} AS {sql}"), {**params, **months})
        written = insert_unless_raced(
            tx,
            f"INSERT INTO agent_features (agent_id, as_of, {FEATURE_COLUMNS}, overdue_days) "
            f"SELECT agent_id, :as_of, {FEATURE_COLUMNS}, 0 FROM features_now WHERE true",
            # a computation running at the same moment may have written some: keep theirs
            "ON CONFLICT (agent_id, as_of) DO NOTHING",
            params,
        )
        run(text("DROP TABLE features_now"))
        if pg and written > ANALYZE_AFTER_ROWS:
            # A month's features just arrived: fresh statistics for pre-approval's joins.
            run(text("ANALYZE agent_features"))
    run(text("DROP TABLE wanted_now"))
    return as_of


compute_features = transactional(compute_in)


def features_of(tx: Tx, agent_id: int, as_of: date) -> Features | None:
    row = tx.session.get(AgentFeatures, (agent_id, as_of))
    return Features.of(row) if row is not None else None


def latest_as_of(tx: Tx) -> date | None:
    return tx.conn.scalar(select(AgentFeatures.as_of).order_by(AgentFeatures.as_of.desc()).limit(1))
