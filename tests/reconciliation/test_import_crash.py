"""``kill -9`` in the middle of a statement import, then the same import again: the
books are exactly those of one uninterrupted import (every line once, every match
posted once), on both databases."""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from tests.bank import Bank, funder_account
from tests.credit.market import Market
from tests.databases import BACKENDS
from tests.loans.story import market_with_lines
from yirong.infra.db import Database, Tx
from yirong.ledger.verify import verify
from yirong.loans.drawdowns import request_drawdown
from yirong.reconciliation.statements import import_statement_file
from yirong.wallets import service as wallets

ROOT = Path(__file__).resolve().parents[2]
CHUNK = 7
AGENTS = 4


def statement(market: Market) -> bytes:
    """Orders funded (one of them twice), top-ups, and money from nobody: 60 lines."""
    db = market.db
    bank = Bank(db)
    t1 = funder_account(db, "T1")
    for n in range(AGENTS):
        code = market.code(n)
        for k in range(4):
            order = request_drawdown(db, code, 10_000 * (k + 1), 30, f"o{n}-{k}")
            bank.credit(order.amount, memo=order.order_ref, account=t1)
            if n == k == 1:
                bank.credit(order.amount, memo=order.order_ref, account=t1)
        pay_in = wallets.wallet(db, f"agent:{code}").pay_in_code
        for k in range(10):
            bank.credit(100 + k, memo=f"YT{pay_in}", account="6222020000000000009")
    for k in range(3):
        bank.credit(5_000 + k, memo="不明", account="6228480000000000001")
    return bank.statement_bytes()


def state(db: Database) -> dict[str, Any]:
    def read(tx: Tx) -> dict[str, Any]:
        # Keys name a bank line by its id, and ids differ between the two databases (a
        # crashed transaction on PostgreSQL consumes sequence values): name it by the
        # bank's identity instead.
        identity = {
            str(line_id): found
            for line_id, found in tx.conn.execute(text("SELECT id, identity FROM bank_lines"))
        }

        def named(value: Any) -> Any:
            if not isinstance(value, str):
                return value
            value = re.sub(r"^bank:(\d+)", lambda m: f"bank:{identity[m.group(1)]}", value)
            return re.sub(r"bank line (\d+)", lambda m: f"bank line {identity[m.group(1)]}", value)

        def rows(sql: str) -> list[tuple[Any, ...]]:
            return sorted(
                (tuple(named(v) for v in r) for r in tx.conn.execute(text(sql))), key=repr
            )

        return {
            "lines": rows(
                "SELECT identity, status, target, target_ref, matched_by, amount,"
                " suspense_entry_id IS NULL FROM bank_lines ORDER BY identity"
            ),
            "entries": rows(
                "SELECT idempotency_key, code, phase, memo FROM ledger_entries"
                " ORDER BY idempotency_key"
            ),
            "postings": rows(
                "SELECT e.idempotency_key, p.leg, a.code, p.side, p.amount FROM ledger_postings p"
                " JOIN ledger_entries e ON e.id = p.entry_id"
                " JOIN ledger_accounts a ON a.id = p.account_id ORDER BY 1, 2"
            ),
            "balances": rows(
                "SELECT a.code, SUM(b.debits_posted), SUM(b.credits_posted),"
                " SUM(b.debits_pending), SUM(b.credits_pending) FROM ledger_balances b"
                " JOIN ledger_accounts a ON a.id = b.account_id GROUP BY a.code ORDER BY a.code"
            ),
            "exceptions": rows(
                "SELECT kind, amount, detail, status FROM recon_exceptions ORDER BY detail, amount"
            ),
            "drawdowns": rows("SELECT order_ref, status, principal FROM drawdowns ORDER BY 1"),
            "files": rows(
                "SELECT sha256, state, lines, new_lines, duplicate_lines, matched_lines,"
                " exception_lines FROM statement_files"
            ),
        }

    return db.run(read, readonly=True)


def prepared(backend: str, directory: Path) -> tuple[Database, bytes]:
    directory.mkdir(parents=True, exist_ok=True)
    market = market_with_lines(backend, directory, AGENTS)
    return market.db, statement(market)


def _without_serials(content: bytes) -> list[list[str]]:
    return [row.split(",")[:8] for row in content.decode().splitlines() if not row.startswith("#")]


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_kill_minus_nine_during_an_import_then_again_is_one_uninterrupted_import(
    backend: str, tmp_path: Path
) -> None:
    # The reference first: on PostgreSQL the next fresh database empties this one.
    db, content = prepared(backend, tmp_path / "reference")
    first = import_statement_file(db, content, filename="crash.csv", chunk=CHUNK)
    assert (first.lines, first.new, first.duplicates) == (60, 60, 0)
    assert (first.matched, first.exceptions) == (4 * 4 + 4 * 10, 4)
    reference = state(db)
    db.dispose()

    db, again = prepared(backend, tmp_path / "crashed")
    # The same orders and wallets (the bank's serials differ: its counter went on).
    assert _without_serials(again) == _without_serials(content)
    path = tmp_path / "statement.csv"
    path.write_bytes(content)
    url = db.url.render_as_string(hide_password=False)
    rnd = random.Random(f"{backend}-{os.getpid()}-{time.time_ns()}")
    kills = 0
    for _ in range(3):
        child = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.reconciliation.import_crash_worker",
                url,
                str(path),
                str(CHUNK),
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        assert child.stdout is not None
        wanted, seen = rnd.randint(1, 4), 0
        finished = False
        while line := child.stdout.readline().strip():
            finished = line == "FINISHED"
            seen += line.startswith("CHUNK")
            if seen >= wanted:
                time.sleep(rnd.uniform(0, 0.03))  # into the next chunk's transaction
                break
        child.send_signal(signal.SIGKILL)
        child.wait()
        kills += not finished and child.returncode == -signal.SIGKILL
    assert kills >= 1
    result = import_statement_file(db, content, filename="crash.csv", chunk=CHUNK)
    assert (result.lines, result.new, result.matched, result.exceptions) == (
        first.lines,
        first.new,
        first.matched,
        first.exceptions,
    )
    assert state(db) == reference
    assert verify(db).ok
    db.dispose()
