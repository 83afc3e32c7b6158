"""A large, consistent wallet history for benchmarks, written set-based in SQL.

N agents with wallets and a year of business (a commission credited on the 5th of
each month, a pre-payment to the carrier on the 15th), consents to pre-approval,
and balances that equal their postings — `ledger verify` is run on it before any
timing. Amounts vary deterministically with the agent and the month; some months
have no commission, so the features differ from agent to agent.

This is test data only: it bypasses the services for speed (100,000 agents through
onboarding would take longer than the benchmark itself)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import text

from yirong.bench.sql import agent_code, as_date, padded, series
from yirong.books.service import CARRIER, RESERVE, open_books
from yirong.infra.db import Database, Dialect, Tx
from yirong.ledger.service import account_by_code

MONTHS = 12
YEAR = 2025
BUSINESS_DATE = date(YEAR + 1, 1, 5)
ACCOUNT_BASE = 1_000_000  # bench accounts' ids start here, clear of the house accounts
ENTRY_BASE = 1_000_000


def _month_day(dialect: Dialect, month: str, day: int) -> str:
    if dialect is Dialect.POSTGRESQL:
        return f"make_date({YEAR}, {month}, {day})"
    return f"printf('{YEAR}-%02d-{day:02d}', {month})"


def commission(agent: str, month: str) -> str:
    """A month's commission in fen (0 in some months), the same expression everywhere."""
    return (
        f"(CASE WHEN ({agent} + {month}) % 11 = 0 THEN 0 "
        f"ELSE 300000 + (({agent} * 37 + {month} * 101) % 400) * 10000 END)"
    )


def build(db: Database, agents: int) -> None:
    """Open the books and write the whole history (call on an empty database)."""
    open_books(db, date(YEAR, 1, 2))
    db.run(lambda tx: _write(tx, agents))


def write_agents(tx: Tx, n: int, opened_on: date) -> None:
    """Agents 1..n (codes H0000000...) with open, empty wallets: wallet ``i`` is ledger
    account ``ACCOUNT_BASE + i`` of agent ``i + 1``."""
    d = tx.dialect
    rows = series(d, n)
    code = agent_code(d, "s.i")
    run = tx.conn.execute
    run(
        text(f"""
INSERT INTO agents (id, code, name, uscc, legal_rep_name, legal_rep_id, mobile, bank_card,
  bank_name, wallet_class, carrier_since, onboarded_on)
SELECT s.i + 1, {code}, 'Bench shop ' || s.i, '9' || {padded(d, "s.i", 17)},
  'Bench', '110101198001010011', '+8613800000000', '6222000000000000000', 'Bank', 2,
  {as_date(d, f"'{opened_on.year - 3}-0' || (1 + s.i % 9) || '-01'")}, '{opened_on}'
FROM {rows}""")
    )
    run(
        text(f"""
INSERT INTO ledger_accounts (id, code, book, currency, kind, name, owner_type, owner_ref, shards,
  debits_must_not_exceed_credits, credits_must_not_exceed_debits, opened_on)
SELECT {ACCOUNT_BASE} + s.i, 'wallet:agent:' || {code}, 'platform', 'CNY', 'liability',
  'Wallet', 'agent', {code}, 1, true, false, '{opened_on}'
FROM {rows}""")
    )
    run(
        text(f"""
INSERT INTO ledger_balances (account_id, shard, state, debits_pending, debits_posted,
  credits_pending, credits_posted, debits_must_not_exceed_credits, credits_must_not_exceed_debits)
SELECT {ACCOUNT_BASE} + s.i, 0, 'active', 0, 0, 0, 0, true, false FROM {rows}""")
    )
    run(
        text(f"""
INSERT INTO wallets (owner_type, owner_code, name, account_id, opened_on)
SELECT 'agent', {code}, 'Bench shop', {ACCOUNT_BASE} + s.i, '{opened_on}' FROM {rows}""")
    )


def fingerprint(dialect: Dialect) -> str:
    """A placeholder request fingerprint for entries written in bulk."""
    return "'\\x00'::bytea" if dialect is Dialect.POSTGRESQL else "x'00'"


def replay_balances(tx: Tx) -> None:
    """Set every cached balance that has postings to their sums (after a bulk load)."""
    tx.conn.execute(
        text("""
WITH totals AS (
  SELECT account_id, shard,
    SUM(CASE WHEN side = 'D' THEN amount ELSE 0 END) AS d,
    SUM(CASE WHEN side = 'C' THEN amount ELSE 0 END) AS c
  FROM ledger_postings GROUP BY account_id, shard
)
UPDATE ledger_balances SET debits_posted = totals.d, credits_posted = totals.c
FROM totals
WHERE ledger_balances.account_id = totals.account_id AND ledger_balances.shard = totals.shard""")
    )


def move_sequences(tx: Tx, tables: tuple[str, ...]) -> None:
    """On PostgreSQL, move the tables' id sequences past the explicit ids written."""
    if tx.dialect is not Dialect.POSTGRESQL:
        return  # SQLite takes the next rowid after the largest
    for table in tables:
        tx.conn.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT MAX(id) FROM {table}))"
            )
        )


def _write(tx: Tx, n: int) -> None:
    d = tx.dialect
    reserve = account_by_code(tx, RESERVE).id
    carrier = account_by_code(tx, CARRIER).id
    write_agents(tx, n, date(YEAR, 1, 2))
    rows = series(d, n)
    run = tx.conn.execute
    run(
        text(f"""
INSERT INTO consents (agent_id, funder_id, purpose, fields, text_version, given_on, valid_until)
SELECT s.i + 1, NULL, 'preapproval', 'features', '2026-01', '{YEAR}-01-02', '{YEAR + 1}-12-31'
FROM {rows}""")
    )
    months = series(d, MONTHS, "m", "j")
    month = "(m.j + 1)"
    amount = commission("s.i", month)
    for kind, code_name, day, value, debit, credit in (
        (0, "wallet.commission", 5, amount, f"{reserve}", f"{ACCOUNT_BASE} + s.i"),
        (
            1,
            "wallet.carrier_prepayment",
            15,
            f"({amount}) / 2",
            f"{ACCOUNT_BASE} + s.i",
            f"{carrier}",
        ),
    ):
        entry_id = f"{ENTRY_BASE} + (s.i * {MONTHS} + m.j) * 2 + {kind}"
        where = f"WHERE {value} > 0"
        run(
            text(f"""
INSERT INTO ledger_entries (id, idempotency_key, fingerprint, book, code, phase, business_date,
  debit_block_exempt, memo)
SELECT {entry_id}, 'bench:{kind}:' || s.i || ':' || m.j, {fingerprint(d)}, 'platform',
  '{code_name}', 'posted', {_month_day(d, month, day)}, false, NULL
FROM {rows} CROSS JOIN {months} {where}""")
        )
        for leg, account, side, shard in (
            (0, debit, "D", "s.i % 16" if kind == 0 else "0"),
            (1, credit, "C", "0" if kind == 0 else "s.i % 16"),
        ):
            run(
                text(f"""
INSERT INTO ledger_postings (entry_id, leg, account_id, shard, side, amount)
SELECT {entry_id}, {leg}, {account}, {shard}, '{side}', {value}
FROM {rows} CROSS JOIN {months} {where}""")
            )
    replay_balances(tx)
    move_sequences(tx, ("agents", "ledger_accounts", "ledger_entries", "wallets", "consents"))
    run(text("UPDATE business_calendar SET business_date = :d"), {"d": BUSINESS_DATE})
    # Fresh statistics, as autovacuum would gather after such a load: without them
    # PostgreSQL plans the features as if every table were empty.
    run(text("ANALYZE"))


def floor_sql() -> str:
    """The floor: one plain aggregate over the same wallet history the features read."""
    return """
SELECT p.account_id, SUM(p.amount)
FROM ledger_entries e JOIN ledger_postings p ON p.entry_id = e.id
WHERE e.business_date >= :start AND e.business_date < :as_of AND e.phase = 'posted'
  AND e.code IN ('wallet.commission', 'wallet.carrier_prepayment')
GROUP BY p.account_id
"""
