"""kill -9 during the end of day, several times, at random moments: run again to the
same date, the books are exactly those of a run that was never interrupted (the same
market, closed without a crash): nothing twice, nothing missed."""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from tests.bank import fund
from tests.databases import BACKENDS
from tests.loans.story import market_with_lines
from yirong.books.service import business_date_of, current_business_date
from yirong.eod import service as eod
from yirong.infra.db import Database, Tx
from yirong.ledger.verify import verify
from yirong.loans.drawdowns import request_drawdown
from yirong.wallets import service as wallets

ROOT = Path(__file__).resolve().parents[2]
START = date(2026, 1, 5)
CRASH_FROM = date(2026, 1, 12)  # closed in the test process up to here, then killed
UNTIL = date(2026, 1, 18)  # ... while closing 2026-01-12 to 2026-01-17
STEPS = [name for name, _ in eod.steps()]
CHUNK = 1  # one agent per overdue transaction: a kill can land between two agents
KILLS = 4
# The first kill comes in the overdue step of 2026-01-12, between its two agents
# (the worker pauses 30 ms before each commit: time enough to kill it before the
# second commits); the others after up to this many new lines (a line a step, one
# when the day is done) and 10 ms more (a step more at most). In all, fewer lines
# than the 36 of the six days: no run finishes.
MOST_NEW_LINES = 6

# Amount, term in days, and what the wallet keeps once the agent has spent (None: all
# of it). Terms of 7 to 9 days fall overdue inside the days closed; the wallets hold
# nothing, part of the debt, or all of it when the end of day sweeps them.
LOANS = [
    (300_000, 7, 120_000),
    (300_000, 7, 0),
    (200_000, 8, None),
    (400_000, 9, 50_000),
    (100_000, 30, 0),
]


def close_days(db: Database, until: date) -> None:
    while current_business_date(db) < until:
        eod.run_eod(db)


def market_closing_soon(backend: str, directory: Path) -> Database:
    """The loans of ``LOANS`` lent on 2026-01-05, the days closed up to CRASH_FROM,
    and on its eve an order no money will come for (it expires on CRASH_FROM)."""
    directory.mkdir()
    market = market_with_lines(backend, directory, len(LOANS))
    db = market.db
    for n, (amount, term, keep) in enumerate(LOANS):
        agent, handle = market.code(n), f"agent:{market.code(n)}"
        order = request_drawdown(db, agent, amount, term, "loan")
        assert fund(db, "T1", order.order_ref, amount) == "matched"
        if keep is not None:
            wallets.pay_carrier(db, handle, wallets.wallet(db, handle).balance - keep, f"spend-{n}")
    close_days(db, CRASH_FROM - timedelta(days=1))
    request_drawdown(db, market.code(len(LOANS) - 1), 50_000, 30, "never-funded")
    close_days(db, CRASH_FROM)
    return db


def outcome(db: Database) -> dict[str, Any]:
    """Everything the end of day writes, without surrogate ids (a killed transaction
    on PostgreSQL still uses up sequence numbers): ledger entries by their key."""

    def read(tx: Tx) -> dict[str, Any]:
        def rows(sql: str) -> list[tuple[Any, ...]]:
            return [tuple(r) for r in tx.conn.execute(text(sql))]

        keys: dict[Any, str] = dict(rows("SELECT id, idempotency_key FROM ledger_entries"))

        def key(entry_id: Any) -> str | None:
            if entry_id is None:
                return None
            found = keys[entry_id]
            # A hold's expiry is keyed by the hold's id: name it by the hold's key.
            expired = re.fullmatch(r"expire:(\d+)", found)
            return f"expire:{keys[int(expired.group(1))]}" if expired else found

        entries = {
            key(r[0]): (*r[1:-2], key(r[-2]), key(r[-1]))
            for r in rows(
                "SELECT id, code, phase, business_date, book, memo, expires_on, rejection,"
                " debit_block_exempt, pending_id, reverses_id FROM ledger_entries"
            )
        }
        postings = Counter(
            (key(r[0]), *r[1:])
            for r in rows(
                "SELECT p.entry_id, p.leg, a.code, p.side, p.amount FROM ledger_postings p"
                " JOIN ledger_accounts a ON a.id = p.account_id"
            )
        )
        return {
            "business_date": business_date_of(tx),
            "entries": entries,
            "postings": postings,
            "balances": rows(
                "SELECT a.code, MIN(b.state), MAX(b.state), SUM(b.debits_pending),"
                " SUM(b.debits_posted), SUM(b.credits_pending), SUM(b.credits_posted)"
                " FROM ledger_balances b JOIN ledger_accounts a ON a.id = b.account_id"
                " GROUP BY a.code ORDER BY a.code"
            ),
            "state_changes": Counter(
                rows(
                    "SELECT a.code, s.from_state, s.to_state, s.reason, s.business_date"
                    " FROM ledger_state_changes s JOIN ledger_accounts a ON a.id = s.account_id"
                )
            ),
            "eod_steps": {
                (str(r[0]), r[1]): r[2]
                for r in rows("SELECT business_date, step, detail FROM eod_steps")
            },
            "drawdowns": rows("SELECT * FROM drawdowns ORDER BY id"),
            "repayments": Counter(
                (*r[:-1], key(r[-1]))
                for r in rows(
                    "SELECT agent_id, funder_id, request_key, kind, amount, penalty, interest,"
                    " principal, share, business_date, reversed_on, entry_id FROM repayments"
                )
            ),
            "repayment_parts": Counter(
                rows(
                    "SELECT r.agent_id, r.request_key, p.drawdown_id, p.penalty, p.interest,"
                    " p.principal FROM repayment_parts p JOIN repayments r"
                    " ON r.id = p.repayment_id"
                )
            ),
            "freezes": Counter(
                rows(
                    "SELECT wallet_id, reason, note, frozen_by, frozen_on, lifted_on, lifted_by,"
                    " lift_note FROM wallet_freezes"
                )
            ),
            "accrual_totals": rows(
                "SELECT * FROM accrual_totals ORDER BY funder_id, product_id, kind"
            ),
            "snapshots": rows(
                "SELECT * FROM portfolio_snapshots"
                " ORDER BY business_date, funder_id, product_id, bucket"
            ),
            "outbox": Counter(rows("SELECT recipient, topic, business_date, payload FROM outbox")),
            "payments": Counter(
                (r[0], key(r[1]), *r[2:])
                for r in rows(
                    "SELECT kind, hold_entry_id, source, amount, payee_account, status,"
                    " instructed_on FROM payments"
                )
            ),
            # A payment's reference is its hold's entry id, which a crashed transaction
            # moves on (PostgreSQL's sequences): name it by the hold's key instead.
            "recon_exceptions": Counter(
                rows(
                    "SELECT e.kind, h.idempotency_key, e.amount, e.opened_on, e.status"
                    " FROM recon_exceptions e LEFT JOIN payments p ON p.id = e.payment_id"
                    " LEFT JOIN ledger_entries h ON h.id = p.hold_entry_id"
                )
            ),
        }

    return db.run(read, readonly=True)


def drawdown_statuses(db: Database) -> Counter[str]:
    return Counter(
        db.run(lambda tx: tx.conn.execute(text("SELECT status FROM drawdowns")).scalars().all())
    )


def kill_during_eod(
    url: str, rnd: random.Random, seen: set[str], *, between_agents_on: date | None = None
) -> str:
    """Start the worker and kill it: once it has printed a random number of step
    lines not ``seen`` before (a resumed day announces again the steps it skips) and
    a moment more, into the step the last line announced; or, given a day, once the
    first agent of that day's overdue step has committed. Its last line."""
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.loans.eod_crash_worker", url, str(UNTIL), str(CHUNK)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert child.stdout is not None
    wanted = rnd.randint(1, MOST_NEW_LINES)
    lines: list[str] = []
    new = 0
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = child.stdout.readline().strip()
        if not line:
            break
        lines.append(line)
        if line == "COMMIT":
            if lines[-2].startswith(f"STEP {between_agents_on} overdue "):
                break
            continue
        new += line not in seen
        seen.add(line)
        if between_agents_on is None and new == wanted:
            time.sleep(rnd.uniform(0, 0.01))
            break
    child.send_signal(signal.SIGKILL)
    lines += [line.strip() for line in child.stdout]
    child.wait()
    assert child.returncode == -signal.SIGKILL, lines
    assert lines and "FINISHED" not in lines, lines
    return [line for line in lines if line != "COMMIT"][-1]


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_kill_minus_nine_in_the_end_of_day_then_run_again_is_a_run_never_interrupted(
    backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(eod, "OVERDUE_CHUNK", CHUNK)
    # The reference first: on PostgreSQL the next fresh database empties this one.
    reference_db = market_closing_soon(backend, tmp_path / "reference")
    close_days(reference_db, UNTIL)
    reference = outcome(reference_db)
    assert verify(reference_db).ok
    statuses = drawdown_statuses(reference_db)
    reference_db.dispose()
    # The story is worth telling: loans fell overdue, wallets were frozen and swept
    # (one of them whole, its freeze lifted), an order expired, and the funder's
    # payouts, which no bank statement showed leaving, were listed as exceptions.
    assert statuses == {"overdue": 3, "repaid": 1, "credited": 1, "expired": 1}, statuses
    assert [r[3] for r in reference["repayments"]] == ["sweep"] * 3, reference["repayments"]
    assert sum(1 for f in reference["freezes"] if f[5] is None) == 3
    assert any(k.startswith("payout:") for k in reference["entries"])
    assert any(e[0] == "payment_not_debited" for e in reference["recon_exceptions"])

    db = market_closing_soon(backend, tmp_path / "crashed")
    url = db.url.render_as_string(hide_password=False)
    db.dispose()
    rnd = random.Random(f"{backend}-{os.getpid()}-{time.time_ns()}")
    killed = []
    seen: set[str] = set()
    for n in range(KILLS):
        last_line = kill_during_eod(url, rnd, seen, between_agents_on=None if n else CRASH_FROM)
        db = Database(url)  # what a new process finds
        killed.append((last_line, eod.eod_status(db), drawdown_statuses(db)))
        db.dispose()
    # The first kill: one agent marked overdue, frozen and swept, the other not yet.
    assert "overdue" not in killed[0][1]["steps_done"], killed
    assert killed[0][2]["overdue"] == 1, killed
    assert killed[-1][1]["business_date"] < UNTIL, killed  # the kills left work to do

    db = Database(url)
    close_days(db, UNTIL)
    after = outcome(db)
    report = verify(db)
    db.dispose()
    assert report.ok, {c.name: c.problems for c in report.checks if not c.ok}
    days = [START + timedelta(days=n) for n in range((UNTIL - START).days)]
    steps = {k for k in after["eod_steps"] if not k[1].startswith("overdue.chunk")}
    assert steps == {(str(d), step) for d in days for step in STEPS}
    for part, expected in reference.items():
        assert after[part] == expected, (part, killed)


def test_an_overdue_step_resumed_between_two_agents_records_both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(eod, "OVERDUE_CHUNK", CHUNK)
    db = market_closing_soon("sqlite", tmp_path / "db")
    chunk = eod._overdue_chunk
    chunks: list[int] = []

    def crash_in_the_second(tx: Tx, **kwargs: Any) -> Any:
        chunks.append(1)
        if len(chunks) == 2:
            raise RuntimeError("power cut")
        return chunk(tx, **kwargs)

    monkeypatch.setattr(eod, "_overdue_chunk", crash_in_the_second)
    with pytest.raises(RuntimeError):
        eod.run_eod(db)
    assert drawdown_statuses(db)["overdue"] == 1  # the first agent's chunk committed
    monkeypatch.setattr(eod, "_overdue_chunk", chunk)
    eod.run_eod(db)
    assert drawdown_statuses(db)["overdue"] == 2
    detail = db.run(
        lambda tx: tx.conn.execute(
            text("SELECT detail FROM eod_steps WHERE step = 'overdue' AND business_date = :d"),
            {"d": CRASH_FROM},
        ).scalar_one()
    )
    assert json.loads(detail) == {"loans": 2, "agents": 2, "swept": 1}
