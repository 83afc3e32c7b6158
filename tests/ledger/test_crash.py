"""SIGKILL in the middle of a stream of operations: the books still verify, every
operation the process saw acknowledged is there, and every operation is either
wholly present or wholly absent (a commission file's rows: all, or none)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.conftest import FIRST_DAY
from tests.databases import fresh_database
from tests.ledger.crash_worker import WALLETS
from tests.ledger.helpers import assert_books_balance
from yirong.books.service import open_books
from yirong.infra.db import Database
from yirong.wallets import service as wallets

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_kill_minus_nine_loses_nothing_acknowledged(backend: str, tmp_path: Path) -> None:
    db = fresh_database(backend, tmp_path)
    open_books(db, FIRST_DAY)
    wallets.open_wallets(db, [(w, w) for w in WALLETS])
    url = db.url.render_as_string(hide_password=False)
    acked_entries: set[str] = set()
    acked_months: set[str] = set()
    rnd = random.Random(7)
    for run in range(3):
        child = subprocess.Popen(
            [sys.executable, "-m", "tests.ledger.crash_worker", url, f"run{run}", str(run)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        assert child.stdout is not None
        deadline = time.monotonic() + 30
        wanted = rnd.randint(40, 120)  # kill after a random number of acknowledgements
        seen = 0
        while seen < wanted and time.monotonic() < deadline:
            line = child.stdout.readline()
            if not line:
                break
            kind, _, value = line.strip().partition(" ")
            if kind == "ACK":
                seen += 1
                what, _, name = value.partition(" ")
                (acked_entries if what == "entry" else acked_months).add(name)
        child.send_signal(signal.SIGKILL)
        # Whatever it printed before dying was acknowledged too.
        for line in child.stdout:
            if line.startswith("ACK "):
                what, _, name = line.strip()[4:].partition(" ")
                (acked_entries if what == "entry" else acked_months).add(name)
        child.wait()
        assert child.returncode == -signal.SIGKILL
        assert seen >= 20, "the worker never got going"

    db.dispose()
    db = Database(url)  # a new process's view of what is on disk
    assert_books_balance(db)
    keys = set(
        db.run(
            lambda tx: (
                tx.conn.execute(
                    text("SELECT idempotency_key FROM ledger_entries WHERE phase = 'posted'")
                )
                .scalars()
                .all()
            )
        )
    )
    assert acked_entries <= keys
    months: dict[str, int] = {}
    for key in keys:
        if key.startswith("commission:"):
            month = key.split(":")[1]
            months[month] = months.get(month, 0) + 1
    assert acked_months <= set(months)
    assert all(count == len(WALLETS) for count in months.values()), months
