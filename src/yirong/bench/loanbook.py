"""A large, consistent loan book for the end-of-day benchmark, written set-based in SQL.

N live drawdowns on N/4 agents (four loans each on one revolving line: an agent has
one funder's credit at a time, and a few drawdowns open on it is the common case),
on four products of three funders (360- and 365-day bases, 0 or 3 days' grace, rates
across each product's range). Agents fall into classes by a permutation of their
index, so every 10,000 consecutive agents hold each class in the same proportion:

* **falling due** (120 per 10,000 for each of the ``days`` business days benchmarked,
  so 0.3% of the loans a day): their first loan's grace ends on that day, so that
  day's end of day marks it overdue, freezes the wallet and sweeps it. Half of these
  wallets hold nothing, 30% part of the debt, 20% all of it (the loan is repaid and
  the wallet unfrozen at once); one in 25 is also frozen for risk.
* **overdue** (6%): one or two loans already overdue (M1 to M3+, up to 150 days past
  due), the wallet frozen for it since the day it fell overdue, as the end of day
  freezes it, and empty (anything credited would have been swept).
* **frozen for risk** (0.5%): an operator's freeze, the wallet holding money.
* **current**: the rest; no loan's grace ends in the days benchmarked.

Lines, offers, consents and applications are there for every loan (every foreign key
holds); funders and products are registered through the services. Ledger: each
wallet's money is one commission from the reserve; each funder's memo book holds the
principal outstanding and the interest and penalty accrued up to yesterday (posted,
as the end of day posts them, with the accrual totals to match), so the first day
closed posts exactly one day's accrual. `ledger verify` passes before any timing.

Test data only: it bypasses the services for speed (a million drawdowns through
``request_drawdown`` and ``receive_funding`` would take hours)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import text

from yirong.bench.history import (
    ACCOUNT_BASE,
    ENTRY_BASE,
    fingerprint,
    move_sequences,
    replay_balances,
    write_agents,
)
from yirong.bench.sql import day_after, series
from yirong.books.service import RESERVE, open_books
from yirong.credit.consents import APPLICATION_FIELDS
from yirong.demo.funders import FUNDERS
from yirong.eod.service import portfolio_sql
from yirong.funders.accounts import memo_account
from yirong.funders.service import ProductInput, add_product, register_funder
from yirong.infra.db import Database, Tx
from yirong.ledger import service as ledger
from yirong.ledger.model import Leg, NewEntry, Side
from yirong.loans.tables import AccrualTotal

BUSINESS_DATE = date(2026, 6, 1)  # the first day the benchmark closes
OPENED = BUSINESS_DATE - timedelta(days=400)  # books, funders, agents and lines
LOANS_PER_AGENT = 4
LINE_LIMIT = 25_000_000  # fen: four loans of at most 51,000 yuan fit
MOST_DAYS = 20  # the classes leave room for this many days falling due
# Per 10,000 agents.
FALLING_PER_DAY = 120
OVERDUE_AGENTS = 600
RISK_AGENTS = 50
MOST_DAYS_PAST_DUE = 150
# A 365-day product with no grace and another allocation order, beside the demo's.
DAILY = ProductInput(
    code="DAILY",
    name="按日计息 Daily interest, 365-day basis",
    kind="revolving",
    method="revolving",
    min_rate=Decimal("0.10"),
    max_rate=Decimal("0.18"),
    min_limit=300_000,
    max_limit=30_000_000,
    min_term_days=7,
    max_term_days=90,
    day_basis=365,
    penalty_multiplier=Decimal("1.3"),
    grace_days=0,
    allocation_order="interest,penalty,principal",
)
PRODUCTS = (("F01", "LINE"), ("F02", "LINE"), ("F02", "DAILY"), ("F03", "TERM6"))
TABLES_WITH_IDS = (
    "agents",
    "ledger_accounts",
    "ledger_entries",
    "wallets",
    "offers",
    "consents",
    "credit_applications",
    "credit_lines",
    "drawdowns",
)


def agents_for(loans: int) -> int:
    return -(-loans // LOANS_PER_AGENT)


def build(db: Database, loans: int, days: int) -> None:
    """Open the books, register the funders and write the book (on an empty database),
    with loans falling overdue on each of ``days`` business days from BUSINESS_DATE."""
    if not 1 <= days <= MOST_DAYS:
        raise ValueError(f"between 1 and {MOST_DAYS} days")
    open_books(db, OPENED)
    for funder, products in FUNDERS:
        register_funder(db, funder)
        for product in products:
            add_product(db, funder.code, product)
    add_product(db, "F02", DAILY)
    db.run(lambda tx: _write(tx, loans, days))


def _write(tx: Tx, loans: int, days: int) -> None:
    agents = agents_for(loans)
    write_agents(tx, agents, OPENED)
    _lines(tx, agents)
    _drawdowns(tx, loans, agents, days)
    _wallet_money(tx, agents, days)
    _freezes(tx, agents, days)
    replay_balances(tx)
    move_sequences(tx, TABLES_WITH_IDS)
    tx.conn.execute(text("UPDATE business_calendar SET business_date = :d"), {"d": BUSINESS_DATE})
    _memo_books(tx)
    # Fresh statistics, as autovacuum would gather after such a load.
    tx.conn.execute(text("ANALYZE"))


# ---------------------------------------------------------------- agent classes


def _u(a: str) -> str:
    """The agent's place in the class permutation (7919 is prime to 10,000)."""
    return f"(({a}) * 7919 % 10000)"


def falling(a: str, days: int) -> str:
    return f"{_u(a)} < {FALLING_PER_DAY * days}"


def overdue(a: str, days: int) -> str:
    start = FALLING_PER_DAY * days
    return f"{_u(a)} >= {start} AND {_u(a)} < {start + OVERDUE_AGENTS}"


def risk(a: str, days: int) -> str:
    start = FALLING_PER_DAY * days + OVERDUE_AGENTS
    one_in_25_falling = f"({falling(a, days)} AND ({a}) % 25 = 3)"
    return f"(({_u(a)} >= {start} AND {_u(a)} < {start + RISK_AGENTS}) OR {one_in_25_falling})"


def first_overdue_offset(a: str) -> str:
    """An overdue agent's first overdue day, in days from BUSINESS_DATE (0 or less)."""
    return f"(-(({a}) * 31 % {MOST_DAYS_PAST_DUE}))"


# ---------------------------------------------------------------- lines


def _lines(tx: Tx, agents: int) -> None:
    """Offer, consent, application, line and engagement of each agent: agent ``a``
    (index) takes product ``a % 4``, at a rate spread over the product's range."""
    ids = {
        key: tx.conn.execute(
            text(
                "SELECT p.id FROM funder_products p JOIN funders f ON f.id = p.funder_id "
                "WHERE f.code = :f AND p.code = :p"
            ),
            {"f": key[0], "p": key[1]},
        ).scalar_one()
        for key in PRODUCTS
    }
    product = " ".join(f"WHEN {n} THEN {ids[key]}" for n, key in enumerate(PRODUCTS))
    run = tx.conn.execute
    run(
        text(f"""
INSERT INTO offers (id, run_id, agent_id, funder_id, product_id, credit_limit, annual_rate_ppm,
  term_days, apr_ppm, offered_on, expires_on, status)
SELECT s.i + 1, NULL, s.i + 1, p.funder_id, p.id, {LINE_LIMIT},
  p.min_rate_ppm + (s.i * 13 % 11) * ((p.max_rate_ppm - p.min_rate_ppm) / 10),
  p.max_term_days, p.max_rate_ppm, '{OPENED}', '{OPENED + timedelta(days=14)}', 'accepted'
FROM {series(tx.dialect, agents)}
JOIN funder_products p ON p.id = CASE s.i % {len(PRODUCTS)} {product} END""")
    )
    run(
        text(f"""
INSERT INTO consents (id, agent_id, funder_id, purpose, fields, text_version, given_on,
  valid_until)
SELECT id, agent_id, funder_id, 'credit_application', '{",".join(APPLICATION_FIELDS)}',
  '2025-04', '{OPENED}', '{BUSINESS_DATE + timedelta(days=365)}'
FROM offers""")
    )
    run(
        text(f"""
INSERT INTO credit_applications (id, agent_id, funder_id, offer_id, consent_id, status,
  submitted_on, decided_on, reason_code, line_id)
SELECT id, agent_id, funder_id, id, id, 'approved', '{OPENED}', '{OPENED}', NULL, id
FROM offers""")
    )
    run(
        text(f"""
INSERT INTO credit_lines (id, agent_id, funder_id, product_id, application_id, credit_limit,
  annual_rate_ppm, max_term_days, opened_on, valid_until, status)
SELECT id, agent_id, funder_id, product_id, id, credit_limit, annual_rate_ppm, term_days,
  '{OPENED}', '{BUSINESS_DATE + timedelta(days=365)}', 'active'
FROM offers""")
    )
    run(
        text(f"""
INSERT INTO agent_engagements (agent_id, family, funder_id, application_id, line_id, since)
SELECT agent_id, 'line', funder_id, id, id, '{OPENED}' FROM credit_lines""")
    )


# ---------------------------------------------------------------- drawdowns


def _drawdowns(tx: Tx, loans: int, agents: int, days: int) -> None:
    """Loan ``j`` is agent ``j % agents``'s loan number ``j / agents``. Everything is
    an offset in days from BUSINESS_DATE: ``o`` the first penalty day, the due date
    ``o - grace - 1``, the day lent ``due - term`` (never after today)."""
    d = tx.dialect
    today = BUSINESS_DATE.toordinal()
    # The current loans' first penalty day: after the days benchmarked, never before
    # the loan was lent (its elapsed days ``e`` are at most term + grace - days).
    current_o = f"(t + g + 1 - (h / 1009) % (t + g - {days} + 1))"
    o = f"""CASE
      WHEN {falling("a", days)} AND slot = 0 THEN {_u("a")} / {FALLING_PER_DAY} + 1
      WHEN {overdue("a", days)} AND slot = 0 THEN {first_overdue_offset("a")}
      WHEN {overdue("a", days)} AND slot = 1 AND a % 2 = 0 THEN {first_overdue_offset("a")} / 2
      ELSE {current_o} END"""
    lent = "(o - g - 1 - t)"
    tx.conn.execute(
        text(f"""
INSERT INTO drawdowns (id, order_ref, request_key, line_id, agent_id, funder_id, product_id,
  amount, fee, term_days, annual_rate_ppm, penalty_rate_ppm, day_basis, grace_days,
  allocation_order, status, reason, requested_on, fund_by, credited_on, due_date,
  closed_on, principal, since_day, normal_fen_days, penalty_fen_days, overdue_day,
  interest_paid, penalty_paid, principal_paid, accrual_open)
SELECT j + 1, 'YRB' || j, 'bench:' || slot, a + 1, a + 1, funder_id, product_id,
  amount, (2 * amount * fee_ppm + 1000000) / 2000000, t, rate,
  (2 * rate * multiplier + 1000000) / 2000000, day_basis, g, allocation_order,
  CASE WHEN o <= 0 THEN 'overdue' ELSE 'credited' END, NULL,
  {day_after(d, BUSINESS_DATE, lent)}, {day_after(d, BUSINESS_DATE, f"{lent} + 1")},
  {day_after(d, BUSINESS_DATE, lent)},
  {day_after(d, BUSINESS_DATE, "o - g - 1")}, NULL,
  amount, {today} + {lent}, 0, 0, {today} + o, 0, 0, 0, true
FROM (
  SELECT *, {o} AS o FROM (
    SELECT *, lo + h % (hi - lo + 1) AS t, 200000 + h % 50 * 100000 AS amount FROM (
      SELECT s.i AS j, s.i % {agents} AS a, s.i / {agents} AS slot,
        s.i * 2654435761 % 1000003 AS h, CAST(l.annual_rate_ppm AS BIGINT) AS rate,
        l.funder_id, l.product_id, p.fee_ppm, p.penalty_multiplier_ppm AS multiplier,
        p.day_basis, p.allocation_order, p.grace_days AS g, p.max_term_days AS hi,
        CASE WHEN p.min_term_days > 30 THEN p.min_term_days ELSE 30 END AS lo
      FROM {series(d, loans)}
      JOIN credit_lines l ON l.id = s.i % {agents} + 1
      JOIN funder_products p ON p.id = l.product_id
    ) drawn
  ) termed
) book""")
    )


# ---------------------------------------------------------------- wallets


def wallet_money(a: str, days: int) -> str:
    """What agent ``a``'s wallet holds, in fen: nothing while overdue; for the agents
    falling due, nothing (half), part of any loan (30%) or more than all they owe."""
    return f"""(CASE
      WHEN {overdue(a, days)} THEN 0
      WHEN {falling(a, days)} THEN CASE WHEN {a} % 10 < 5 THEN 0
        WHEN {a} % 10 < 8 THEN 100000 + {a} % 97 * 1000 ELSE 60000000 END
      WHEN {a} % 10 = 0 THEN 0
      ELSE 100000 + {a} * 37 % 1000 * 10000 END)"""


def _wallet_money(tx: Tx, agents: int, days: int) -> None:
    """One commission from the reserve (sharded: each agent's on one shard) to each
    wallet that holds money."""
    d = tx.dialect
    reserve = ledger.account_by_code(tx, RESERVE)
    rows = series(d, agents)
    money = wallet_money("s.i", days)
    run = tx.conn.execute
    run(
        text(f"""
INSERT INTO ledger_entries (id, idempotency_key, fingerprint, book, code, phase, business_date,
  debit_block_exempt, memo)
SELECT {ENTRY_BASE} + s.i, 'bench:wallet:' || s.i, {fingerprint(d)}, 'platform',
  'wallet.commission', 'posted', {day_after(d, BUSINESS_DATE, "-5")}, false, NULL
FROM {rows} WHERE {money} > 0""")
    )
    for leg, account, shard, side in (
        (0, str(reserve.id), f"s.i % {reserve.shards}", "D"),
        (1, f"{ACCOUNT_BASE} + s.i", "0", "C"),
    ):
        run(
            text(f"""
INSERT INTO ledger_postings (entry_id, leg, account_id, shard, side, amount)
SELECT {ENTRY_BASE} + s.i, {leg}, {account}, {shard}, '{side}', {money}
FROM {rows} WHERE {money} > 0""")
        )


def _freezes(tx: Tx, agents: int, days: int) -> None:
    """The overdue agents' wallets frozen as the end of day froze them (on the day
    before their first penalty day), the risk freezes as an operator's; each with the
    ledger's state change on record."""
    d = tx.dialect
    a = f"(w.account_id - {ACCOUNT_BASE})"
    first = first_overdue_offset(a)
    wallets = "FROM wallets w WHERE w.owner_type = 'agent' AND"
    run = tx.conn.execute
    run(
        text(f"""
INSERT INTO wallet_freezes (wallet_id, reason, note, frozen_by, frozen_on)
SELECT w.id, 'overdue', 'overdue from ' || {day_after(d, BUSINESS_DATE, first)}, 'eod',
  {day_after(d, BUSINESS_DATE, f"{first} - 1")}
{wallets} {overdue(a, days)}""")
    )
    run(
        text(f"""
INSERT INTO wallet_freezes (wallet_id, reason, note, frozen_by, frozen_on)
SELECT w.id, 'risk', 'bench: under review', 'operator',
  {day_after(d, BUSINESS_DATE, "-10")}
{wallets} {risk(a, days)}""")
    )
    run(
        text("""
INSERT INTO ledger_state_changes (account_id, from_state, to_state, reason, business_date)
SELECT w.account_id, 'active', 'debit_blocked', 'freeze:' || f.reason || ': ' || f.note,
  f.frozen_on
FROM wallet_freezes f JOIN wallets w ON w.id = f.wallet_id""")
    )
    run(
        text("""
UPDATE ledger_balances SET state = 'debit_blocked'
WHERE account_id IN (
  SELECT w.account_id FROM wallet_freezes f JOIN wallets w ON w.id = f.wallet_id)""")
    )


# ---------------------------------------------------------------- memo books


def _memo_books(tx: Tx) -> None:
    """Each funder's memo book: the principal outstanding, and the interest and
    penalty its loans have charged up to yesterday, posted per product on yesterday's
    date with the accrual totals that say so."""
    yesterday = BUSINESS_DATE - timedelta(days=1)
    run = tx.conn.execute
    run(text("UPDATE business_calendar SET business_date = :d"), {"d": yesterday})
    codes = {r.id: str(r.code) for r in run(text("SELECT id, code FROM funders"))}
    principal = run(
        text(
            "SELECT funder_id, SUM(principal) FROM drawdowns "
            "WHERE status IN ('credited', 'overdue') GROUP BY funder_id ORDER BY funder_id"
        )
    ).all()
    for funder_id, amount in principal:
        _memo_post(
            tx,
            f"bench:principal:{codes[funder_id]}",
            "loan.principal",
            codes[funder_id],
            ("principal", "lent"),
            int(amount),
            None,
        )
    charged: dict[tuple[int, int, str], int] = {}
    for r in run(text(portfolio_sql()), {"next_ord": BUSINESS_DATE.toordinal()}):
        for kind, value in (("interest", r.open_interest), ("penalty", r.open_penalty)):
            key = (r.funder_id, r.product_id, kind)
            charged[key] = charged.get(key, 0) + int(value)
    for (funder_id, product_id, kind), amount in sorted(charged.items()):
        tx.session.add(
            AccrualTotal(
                funder_id=funder_id, product_id=product_id, kind=kind, closed=0, posted=amount
            )
        )
        if amount > 0:
            code = codes[funder_id]
            _memo_post(
                tx,
                f"accrual:{yesterday}:{code}:{product_id}:{kind}",
                f"loan.accrual.{kind}",
                code,
                (kind, "income"),
                amount,
                f"product {product_id}",
            )
    tx.session.flush()
    run(text("UPDATE business_calendar SET business_date = :d"), {"d": BUSINESS_DATE})


def _memo_post(
    tx: Tx,
    key: str,
    code: str,
    funder: str,
    parts: tuple[str, str],
    amount: int,
    memo: str | None,
) -> None:
    debit, credit = (ledger.account_by_code(tx, memo_account(funder, p)).id for p in parts)
    ledger.post(
        tx,
        NewEntry(
            key, code, (Leg(debit, Side.DEBIT, amount), Leg(credit, Side.CREDIT, amount)), memo=memo
        ),
    )
