"""The end of day: one business date at a time, each step once, resumable after a
crash between any two steps (or inside one) without doing anything twice."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from tests.bank import fund
from tests.databases import BACKENDS
from tests.loans.story import market_with_line
from yirong.books.service import current_business_date
from yirong.eod import service as eod
from yirong.errors import YirongError
from yirong.infra.db import Database
from yirong.ledger import service as ledger
from yirong.ledger.verify import verify
from yirong.loans.drawdowns import request_drawdown


def memo_interest(db: Database) -> int:
    return db.run(
        lambda tx: ledger.balance_of(tx, ledger.account_by_code(tx, "loan:T1:interest")).balance
    )


def lend(db: Database, agent: str) -> None:
    order = request_drawdown(db, agent, 360_000, 30, "a")
    fund(db, "T1", order.order_ref, 360_000)


@pytest.mark.parametrize("backend", BACKENDS)
def test_each_day_accrues_its_interest_once_and_the_date_moves_one_day(
    backend: str, tmp_path: Path
) -> None:
    market = market_with_line(backend, tmp_path)
    db = market.db
    lend(db, market.code(0))  # 360,000 fen at 12% / 360: exactly 120 fen a day
    today = current_business_date(db)
    report = eod.run_eod(db)
    assert report.done["accrue_and_snapshot"]["accrued"] == 120
    assert current_business_date(db) == date.fromordinal(today.toordinal() + 1)
    with pytest.raises(YirongError) as twice:
        eod.run_eod(db, today)
    assert twice.value.code == "eod_already_run"
    with pytest.raises(YirongError) as ahead:
        eod.run_eod(db, date(2027, 1, 1))
    assert ahead.value.code == "eod_date_ahead"
    for _ in range(9):
        eod.run_eod(db)
    assert memo_interest(db) == 1_200
    assert verify(db).ok


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "crash_in",
    [
        "expire",
        "overdue",
        "accrue_and_snapshot",
        "payouts",
        "payment_batches",
        "reconciliation",
        "reconcile",
        "funder_files",
        "advance",
    ],
)
def test_a_run_that_crashed_in_any_step_resumes_and_does_nothing_twice(
    backend: str, crash_in: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    market = market_with_line(backend, tmp_path)
    db = market.db
    lend(db, market.code(0))
    today = current_business_date(db)
    real = dict(eod.steps())

    def crashing() -> list[tuple[str, Any]]:
        def crash(db: Database, day: date) -> dict[str, Any]:
            raise RuntimeError(f"power cut in {crash_in}")

        return [(name, crash if name == crash_in else step) for name, step in real.items()]

    monkeypatch.setattr(eod, "steps", crashing)
    with pytest.raises(RuntimeError):
        eod.run_eod(db)
    assert current_business_date(db) == today  # the day is not closed
    status = eod.eod_status(db)
    assert crash_in not in status["steps_done"]
    monkeypatch.setattr(eod, "steps", lambda: list(real.items()))
    report = eod.run_eod(db)
    assert crash_in in report.done and set(report.skipped) == set(status["steps_done"])
    assert current_business_date(db) == date.fromordinal(today.toordinal() + 1)
    assert memo_interest(db) == 120  # one day's interest, once
    assert verify(db).ok
